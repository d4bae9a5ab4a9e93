"""``fuzzpass export``: a finding as one file a compiler engineer can run anywhere.

``write_repro`` writes a standalone script that needs only jax and numpy (a finding against
production Helion: helion and torch too, ``templates/helion_repro.py.tmpl``): both generated
kernels inline, exactly as fuzzpass ran them; the exact inputs (poisoned padding included),
work items and the float64 ground truth with its error bound, packed inline (or in a ``.npz``
beside it when large); a header with versions and the command that made it; and the check of
the finding's kind. ``python repro.py`` exits 1 while the failure reproduces and 0 once it does
not; ``--backend tpu`` runs the same kernels compiled on a TPU host.

A repro freezes what the pass produced. For a bug in the pass, fix the pass and export again
(the new kernels then pass), or keep the pytest form (``write_pytest``), which compiles the
case with the current pass on every run.
"""

from __future__ import annotations

import base64
import io
import json
import platform
import re
from importlib import metadata
from pathlib import Path
from string import Template
from typing import Any

import numpy as np

from fuzzpass.backends import DEFAULT as DEFAULT_BACKEND
from fuzzpass.backends import backend
from fuzzpass.core.case import Case
from fuzzpass.judge.checked import Config
from fuzzpass.judge.gate import choice_on
from fuzzpass.judge.oracle import ATOL, MARGIN
from fuzzpass.judge.signature import signature
from fuzzpass.judge.verdict import Regression
from reference import gates
from reference.codegen import KernelSource
from reference.compile import compile_variant

TEMPLATE = Path(__file__).with_name("templates") / "repro.py.tmpl"
"""The repro script, with ``$$placeholders`` (``string.Template``) for what one finding fills in."""
HELION_TEMPLATE = TEMPLATE.with_name("helion_repro.py.tmpl")
"""The repro of a ``--backend helion`` finding: the Helion kernel instead of the two Pallas ones."""

INLINE_LIMIT = 1 << 20
"""Packed data up to this many bytes goes inline; more goes to ``<repro>.npz`` beside it."""


def versions() -> str:
    """The versions a reader of a repro needs first."""
    found = []
    for name in ("fuzzpass", "jax", "jaxlib", "numpy"):
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found) + f", Python {platform.python_version()}"


def _finding(case: Case, config: Config, kind: str | None = None) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Check the case as the finding was found: the result, its report (as the ``kind``
    finding where the check finds several), its decision facts."""
    from fuzzpass.judge.candidate import under_test
    from fuzzpass.judge.check import check_case

    result = check_case(
        case,
        backend=config.backend if backend(config.backend).numerics is None else DEFAULT_BACKEND,
        poison=config.poison,
        mutant=under_test(config.mutant, config.candidate),
        generations=config.generations,
        gate=config.gate,
        gate_rule=config.gate_rule,
        forced=config.check_forced,
    )
    report = result.to_json()
    if kind is None and config.gate and result.gate and result.gate.findings:
        kind = "gate"  # an audit's finding is the gate's, whatever else
    if kind is not None and (found := [f for f in report["findings"] if f["kind"] == kind]):
        report = dict(report, verdict=kind, findings=found)
    expected = report["expected"] or {}
    decisions = {
        load: {"deferred": sorted(report["deferred"].get(load, [])), "expected": sorted(expected[load])}
        for load in expected
    }
    return result, report, decisions


def _packed(case: Case, config: Config, source: KernelSource) -> tuple[bytes, dict[str, Any]]:
    """Inputs, work items and the ground truth as npz bytes, and what the script needs to
    know about them. Inputs are stored as float32, which holds every bfloat16 and float16
    value (and NaN, Inf) exactly."""
    from fuzzpass.backends.kernel import bucketed_grid, call_args
    from fuzzpass.core.data import draw

    data = draw(case, config.poison)
    spec = case.spec
    arrays: dict[str, np.ndarray] = {}
    n_scalars = 2 * len(source.tiles)
    for i, a in enumerate(call_args(source, data, spec.dtype)):
        arrays[f"arg{i}"] = np.asarray(a, dtype=np.float32 if i >= n_scalars else np.int32)
    outputs = _add_truth(case, data, arrays)
    meta = {
        "grid": list(data.grid),
        "bucket": list(bucketed_grid(data)),
        "outputs": outputs,
        "n_scalars": n_scalars,
        "dtype": spec.dtype,
    }
    return _npz(arrays), meta


def _add_truth(case: Case, data: Any, arrays: dict[str, np.ndarray]) -> list[tuple[str, list[int]]]:
    """Each output's float64 ground truth, which elements are valid and their tolerance, into
    ``arrays``; the outputs with the shape of one work item's value."""
    from fuzzpass.judge.ground_truth import ground_truth

    outputs = []
    for dst, (value, truth) in ground_truth(case, data).items():
        arrays[f"{dst}.expected"] = np.nan_to_num(truth.val)
        arrays[f"{dst}.valid"] = truth.valid
        arrays[f"{dst}.tolerance"] = MARGIN * truth.err + ATOL
        outputs.append((dst, list(value.shape)))
    return outputs


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _data_line(packed: bytes, path: Path) -> str:
    """The script's data: inline, or in ``<repro>.npz`` beside it when large."""
    if len(packed) > INLINE_LIMIT:
        npz = path.with_suffix(".npz")
        npz.write_bytes(packed)
        return f"DATA_FILE = {npz.name!r}  # beside this script"
    return f'DATA = "{base64.b64encode(packed).decode()}"'


def write_repro(case: Case, config: Config, path: Path, command: str, kind: str | None = None) -> Path:
    """Write ``path`` (and ``path.npz`` when the data is large); return ``path``. ``kind``:
    the finding to reproduce where the check finds several (as its ``verdict.json`` says)."""
    result, report, decisions = _finding(case, config, kind)
    sig = signature(report, case.spec)
    if sig is None:
        raise ValueError(f"{case.name} passes under {config}: there is no finding to export")
    finding = next(f for f in report["findings"] if f["kind"] == report["verdict"])
    if finding["kind"] == "helion-regression":  # the repro checks what regressed, on the Helion it runs with
        broke = Regression.parse(finding["message"]).kind
        finding = next(f for f in report["findings"] if f["kind"] == broke and f["variant"] == finding["variant"])
    if finding["kind"] == "decision" and finding["variant"] == "forced":
        decisions = forced_decisions(case, config)
    path.parent.mkdir(parents=True, exist_ok=True)
    if backend(config.backend).helion:
        return _write_helion_repro(case, config, path, command, report, finding, str(sig))
    packed, meta = _packed(case, config, result.variants["eager"].source)
    data_line = _data_line(packed, path)
    text = Template(TEMPLATE.read_text()).substitute(
        signature=str(sig),
        message=finding["message"],
        name=case.name,
        seed=case.seed,
        poison=config.poison,
        mutant=_pass_words(config),
        command=command,
        versions=versions(),
        finding=json.dumps(
            {
                "kind": report["verdict"],
                "variant": finding["variant"],
                "decisions": decisions,
                "gate": _tpu_facts(finding, result.gate.to_json()) if finding["kind"] == "gate" else None,
                "compile": _tpu_facts(finding, None) if finding["kind"] == "compile" else None,
                "relayouts": relayout_vars(result.variants["deferred"]),
            }
        ),
        poison_literal=repr(config.poison),
        case_json=case.dumps(),
        eager=result.variants["eager"].source.text,
        deferred=_deferred_source(result, case, config, finding),
        other=_other_source(result, case, finding) if report["verdict"] == "gate" else "",
        grid=tuple(meta["grid"]),
        bucket=tuple(meta["bucket"]),
        outputs=[tuple(o) for o in meta["outputs"]],
        n_scalars=meta["n_scalars"],
        dtype=repr(meta["dtype"]),
        data_line=data_line,
    )
    path.write_text(text)
    path.chmod(0o755)
    return path


def _write_helion_repro(
    case: Case, config: Config, path: Path, command: str, report: dict[str, Any], finding: dict[str, Any], sig: str
) -> Path:
    """The Helion form of a repro (``templates/helion_repro.py.tmpl``): the case's Helion
    kernel, its data in the kernel's argument order, and the reference's decisions."""
    from fuzzpass.backends.kernel import work_items
    from fuzzpass.core.data import draw
    from reference.helion_codegen import helion_source

    source = helion_source(case.spec, f"{case.name}: as a Helion kernel")
    data = draw(case, config.poison)
    items = work_items(source.tiles, data)
    arrays: dict[str, np.ndarray] = {"n_inputs": np.array(len(source.inputs))}
    for k, tile in enumerate(source.tiles):
        arrays[f"starts_{tile}"], arrays[f"extents_{tile}"] = items[2 * k], items[2 * k + 1]
    for i, src in enumerate(source.inputs):
        arrays[f"input_{i}"] = data.inputs[src].astype(np.float32)
    _add_truth(case, data, arrays)
    mode = "off" if finding["variant"] == "helion-off" else "on"
    facts: dict[str, Any] = {"kind": finding["kind"], "mode": mode, "reference": report["deferred"],
                             "names": source.names}  # fmt: skip
    gate = report["helion"].get("gate")  # Helion's audit, or why there is none
    if tpu := _tpu_facts(finding, gate if isinstance(gate, dict) else None):
        facts["tpu"] = tpu
    text = Template(HELION_TEMPLATE.read_text()).substitute(
        signature=sig,
        message=finding["message"],
        name=case.name,
        seed=case.seed,
        poison=config.poison,
        command=command,
        versions=f"{versions()}, helion {report['helion']['versions']['helion']}, "
        f"torch {report['helion']['versions']['torch']}",
        finding=json.dumps(facts),
        tiles=list(source.tiles),
        grid=tuple(data.grid),
        outputs=json.dumps([{"dst": d, "tiles": list(v.tiles), "shape": list(v.shape)} for d, v in source.outputs]),
        dtype=repr(case.spec.dtype),
        data_line=_data_line(_npz(arrays), path),
        case_json=case.dumps(),
        kernel=source.text,
    )
    path.write_text(text)
    path.chmod(0o755)
    return path


def forced_decisions(case: Case, config: Config) -> dict[str, dict[str, list[str]]]:
    """Per load, the tiles the pass under test's forced kernel defers and those the rules
    force (``expect_forced``): what a repro of a ``decision | forced variant`` finding checks."""
    from fuzzpass.core.expect import expect_forced
    from fuzzpass.judge.candidate import under_test
    from fuzzpass.judge.check import forced_variant
    from reference.relayouts import RELAYOUT_OPS

    mutant = under_test(config.mutant, config.candidate)
    got = forced_variant(case, mutant).deferred()
    rules = expect_forced(case.spec, mutant.deferral.relayout_ops if mutant else RELAYOUT_OPS)
    return {
        load: {"deferred": sorted(got.get(load, [])), "expected": sorted(t for t, ok in tiles.items() if ok)}
        for load, tiles in rules.items()
    }


def relayout_vars(variant: Any) -> list[str]:
    """The kernel variables the pass under test defers a mask through (its relayouts): what a
    repro of an ``undischarged`` finding walks through from a deferred load to its ends."""
    return sorted(n.meta["var"] for n in variant.graph.nodes if n.target in variant.relayouts)


def _tpu_facts(finding: dict[str, Any], gate: dict[str, Any] | None) -> dict[str, Any] | None:
    """What a repro needs to recompile a TPU finding, the reference's or Helion's: the
    generation and its topology name, and for a ``compile`` finding the variant rejected (None:
    both, differently), for a ``gate`` finding the pass's choice on that generation (from the
    audit's record, ``gate``) and the margin. None for any other kind."""
    from fuzzpass.backends.tpu_aot import TOPOLOGIES
    from fuzzpass.judge.gate import MARGIN as GATE_MARGIN

    kind = finding["kind"].removeprefix("helion-")
    if kind not in ("compile", "gate"):
        return None
    gen = _generation(finding)
    facts: dict[str, Any] = {"generation": gen, "topology": TOPOLOGIES[gen]}
    if kind == "compile":
        return dict(facts, rejected=finding["variant"])
    return dict(facts, choice=gate and choice_on(gate, gen), margin=GATE_MARGIN)


def _pass_words(config: Config) -> str:
    """What replaced the reference pass, for a repro's header: a mutant, or a candidate's file
    and sha256 (which version of the file the finding is about)."""
    if config.candidate is not None:
        return f", pass {config.candidate.label} (sha256 {config.candidate.sha256})"
    return f", mutant {config.mutant}" if config.mutant else ""


def _generation(finding: dict[str, Any]) -> str:
    """The generation a TPU finding is about: its message starts with it."""
    return finding["message"].split(":")[0]


def _deferred_source(result: Any, case: Case, config: Config, finding: dict[str, Any]) -> str:
    """The kernel the finding is about, as the repro's DEFERRED: a kernel of the gate audit
    where the finding names one (``forced``, ``gate layout``); for a ``gate`` finding under a
    gate that reads the target generation (a ``targeted`` gate of ``reference.gates``), the one compiled
    for the finding's generation; else the check's deferred variant."""
    from fuzzpass.judge.candidate import under_test
    from fuzzpass.judge.check import forced_variant

    if finding["variant"] == "forced":  # the pass under test's forced kernel, whoever built it
        return forced_variant(case, under_test(config.mutant, config.candidate)).source.text
    kernels = result.gate.kernels if result.gate else {}
    if finding["variant"] in kernels:
        return kernels[finding["variant"]].source.text
    if finding["kind"] != "gate" or not gates.gate(config.gate_rule).targeted or config.mutant or config.candidate:
        return result.variants["deferred"].source.text
    gen = _generation(finding)
    title = f"{case.name}: deferred ({gen})"
    return compile_variant(case.spec, gate=config.gate_rule, generation=gen, title=title).source.text


def _other_source(result: Any, case: Case, finding: dict[str, Any]) -> str:
    """The choice the pass did not make on the finding's generation: the eager kernel if it
    deferred, else the forced one."""
    if choice_on(result.gate.to_json(), _generation(finding)) == "defer":
        return result.variants["eager"].source.text
    return compile_variant(case.spec, "force", title=f"{case.name}: forced").source.text


def write_pytest(case: Case, config: Config, directory: Path) -> Path:
    """Write ``directory/test_<case>.py``: the case as a regression test that compiles it
    with the current pass. With a mutant, it also asserts the harness still kills it."""
    _, report, _ = _finding(case, config)
    sig = signature(report, case.spec)
    slug = re.sub(r"[^A-Za-z0-9]+", "_", case.name).strip("_").lower() or "case"
    q = json.dumps  # string literals as ruff format writes them
    lines = [
        f'"""Regression: {case.name}, exported by fuzzpass.',
        "",
        f"Finding: {sig or 'none (the case passes)'}{f' ({_pass_words(config)[2:]})' if config.pass_label else ''}.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import json",
        "",
        "from fuzzpass.core.case import parse_case",
        "from fuzzpass.regression import assert_holds" + (", assert_still_caught" if config.pass_label and sig else ""),
        "",
        f'CASE_FILE = r"""{case.dumps()}"""',
        "CASE = parse_case(json.loads(CASE_FILE))",
        "",
        "",
        f"def test_{slug}_holds_with_the_real_pass() -> None:",
        f"    assert_holds(CASE, {q(config.poison)})",
    ]
    if config.pass_label and sig is not None:
        which = config.candidate.name if config.candidate else str(config.mutant)
        lines += [
            "",
            "",
            f"def test_{slug}_still_catches_{re.sub(r'[^A-Za-z0-9]+', '_', which).lower()}() -> None:",
            "    assert_still_caught(",  # one argument a line, with a trailing comma: ruff format keeps it
            "        CASE,",
            *(f"        {q(arg)}," for arg in (config.poison, config.pass_label, sig.kind, sig.rule)),
            "    )",
        ]
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"test_{slug}.py"
    path.write_text("\n".join(lines) + "\n")
    return path

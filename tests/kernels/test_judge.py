"""One real kernel judged in this process: a pass that defers a mask and then drops the mask
that discharged it is caught as ``helion-mismatch`` against the file's own reference, while the
real pass on the same kernel passes; Helion's eager baseline wrong is Helion's (``helion-off``)
whatever the pass did; a kernel Helion's launcher cannot build here is ``not run`` on every
generation, never the TPU compiler's verdict; the gate audit of a fired call builds Helion's
forced kernel, as a case's does."""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzzpass.backends import helion, tpu_aot
from fuzzpass.kernels import collect
from fuzzpass.kernels.judge import judge_call
from fuzzpass.kernels.record import Call, Recorder

helion.prepare_environment()  # before the corpus files import Helion

CORPUS = Path(__file__).parent / "corpus"


def recorded(file: str, kernel: str) -> Call:
    """The first call ``kernel`` gets from the entries of ``corpus/file``."""
    module, _ = collect.load(CORPUS / file)
    recorder = Recorder()
    for entry in collect.entries(module):
        collect.run_entry(entry, recorder)
    (calls,) = [c for c in recorder.calls.values() if c[0].kernel.fn.__name__ == kernel]
    return calls[0]


def test_a_dropped_remask_is_a_helion_mismatch(remask_dropped: None) -> None:
    call = recorded("head_sum.py", "jagged_head_sum")
    assert call.reference is not None and call.tolerance == {"rtol": 1e-4, "atol": 1e-4}
    judged, _ = judge_call(call, "head_sum.py", "jagged_head_sum", (), None)
    assert judged.fired
    (finding,) = judged.findings
    assert (finding.kind.value, finding.variant) == ("helion-mismatch", "helion-on")
    assert "pass on disagrees with the file's reference, pass off agrees" in finding.message
    assert judged.numerics["off vs reference"] == "agree"
    # under poison the eager kernel leaks too (NaN * 0), so poison alone blames nobody here
    assert "non-finite" in judged.numerics["on poisoned vs clean"]
    assert "non-finite" in judged.numerics["off poisoned vs clean"]


def test_the_real_pass_on_the_same_kernel_passes() -> None:
    call = recorded("head_sum.py", "jagged_head_sum")
    judged, structure = judge_call(call, "head_sum.py", "jagged_head_sum", (), None)
    assert judged.fired and judged.findings == [] and judged.verdict == "pass"
    assert structure["blocks"][1] == 16  # the hl.tile's block id and its size in the call's config


def test_a_wrong_eager_baseline_is_helions_helion_off(helion_eager_broken: None) -> None:
    call = recorded("head_sum.py", "jagged_head_sum")
    judged, _ = judge_call(call, "head_sum.py", "jagged_head_sum", (), None)
    (finding,) = judged.findings
    assert (finding.kind.value, finding.variant) == ("helion-mismatch", "helion-off")
    assert finding.message.startswith("Helion with its pass off disagrees with the file's reference: ")
    assert judged.numerics["on vs reference"] == "agree"
    assert judged.numerics_result == "differ" and judged.verdict == "helion-mismatch"


def test_a_kernel_not_built_here_is_not_run_never_a_compiler_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    from fuzzpass.backends import helion_tpu
    from fuzzpass.kernels.results import table

    why = "Helion could not build the kernel: ModuleNotFoundError: No module named 'torch_tpu'"
    monkeypatch.setattr(helion_tpu, "build_call", lambda *a: helion_tpu.Built([], failure=why))
    call = recorded("head_sum.py", "jagged_head_sum")
    judged, _ = judge_call(call, "head_sum.py", "jagged_head_sum", ("v5e", "v6e"), ("v5e", "v6e"))
    assert judged.findings == [] and judged.gate is None  # no helion-tpu-unsupported, no gate audit
    for gen in ("v5e", "v6e"):
        assert judged.compiles[gen] == {
            m: {"ok": None, "bundles": None, "message": f"not run: {why}"} for m in ("off", "on")
        }
    event = {"event": "kernel", **judged.to_json()}
    (_, row) = table([event], ("v5e", "v6e"), ("v5e", "v6e"))
    assert row.split() == ["jagged_head_sum", "yes", "agree", "not", "run", "not", "run", "not", "run", "pass"]


@pytest.mark.skipif(tpu_aot.unavailable() is not None, reason="needs libtpu (the tpu extra)")
def test_the_gate_audit_of_a_fired_call_builds_helions_forced_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real gate record, as a case's: the pass-off, pass-on and forced kernels each built
    once and compiled for every generation, timed as the call's ``compile``."""
    from fuzzpass.backends import helion_tpu

    built: list[str] = []
    real = helion_tpu.build_call

    def building(kernel: object, args: object, config: object, mode: str) -> helion_tpu.Built:
        built.append(mode)
        return real(kernel, args, config, mode)

    monkeypatch.setattr(helion_tpu, "build_call", building)
    call = recorded("head_sum.py", "jagged_head_sum")
    judged, _ = judge_call(call, "head_sum.py", "jagged_head_sum", ("v6e",), ("v6e",))
    assert sorted(built) == ["force", "off", "on"]
    gate = judged.gate
    assert gate is not None and gate["by"] == "helion" and gate["choice"] == "defer"
    assert gate["pattern"]["consumer"] == "helion kernel" and set(gate["counts"]) == {"v6e"}
    v6e = gate["counts"]["v6e"]
    assert all(isinstance(v6e[name], int) and v6e[name] > 0 for name in ("eager", "deferred", "forced"))
    assert judged.verdict == "pass" and set(judged.seconds) == {"bind", "run", "compile"}

"""The gate audit: static TPU schedules of the three variants, and the pass's choice judged on
them. Static schedule lengths from the real compiler (deviceless), not timings."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from fuzzpass.backends import tpu_aot
from fuzzpass.core.case import Case, parse_case
from fuzzpass.judge.check import check_case
from fuzzpass.judge.gate import GENERATIONS, agrees
from fuzzpass.judge.mutants import MUTANTS
from fuzzpass.perf.gate_report import report
from tests.specs import dense_kv, node, spec

ROOT = Path(__file__).resolve().parents[2]

needs_libtpu = pytest.mark.skipif(tpu_aot.unavailable() is not None, reason="needs libtpu (the tpu extra)")


@needs_libtpu
def test_the_real_pass_defers_dense_kv_and_the_schedules_agree_on_v6e() -> None:
    result = check_case(Case("dense-kv", 7, dense_kv(), None), backend="tpu-aot", generations=("v6e",), gate=("v6e",))
    record = result.gate
    assert record is not None and record.choice == "defer"
    assert set(record.counts) == {"v6e"}  # the audit compiles what it judges
    v6e = record.counts["v6e"]
    assert v6e["deferred"] is not None and v6e["deferred"] < v6e["eager"]
    assert record.pattern == {"consumer": "dot_general", "rank": 3, "at_load": 0, "at_consumer": "1"}
    assert not [f for f in result.findings if f.kind.value == "gate"]


@needs_libtpu
def test_inverted_gate_is_a_gate_finding_tagged_with_the_generation() -> None:
    case = Case("dense-kv", 7, dense_kv(), None)
    result = check_case(case, backend="tpu-aot", generations=("v6e",), gate=("v6e",), mutant=MUTANTS["inverted-gate"])
    gates = [f for f in result.findings if f.kind.value == "gate"]
    assert gates and gates[0].message.startswith("v6e: the pass chose to keep")


@needs_libtpu
def test_a_gate_finding_exports_a_repro_that_compiles_both_choices_deviceless(tmp_path: Path) -> None:
    """The inverted gate keeps dense-KV's mask, which v6e schedules longer than deferring it:
    the repro compiles the kept kernel and the forced one and exits 1; once the kept kernel
    is the deferred one (the pass fixed), it exits 0."""
    from fuzzpass.judge.checked import Config
    from fuzzpass.repro.export import write_repro

    case = Case("dense-kv", 7, dense_kv(), None)
    config = Config(backend="tpu-aot", mutant="inverted-gate", generations=(), gate=("v6e",))
    repro = write_repro(case, config, tmp_path / "repro.py", "test", "gate")
    run = subprocess.run([sys.executable, str(repro)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 1 and "v6e: the pass chose to keep: " in run.stdout, run.stdout + run.stderr
    text = repro.read_text()
    fixed = text.split("OTHER = r'''")[1].split("'''")[0]  # the forced kernel as the pass's choice
    start, end = text.index("DEFERRED = r'''") + len("DEFERRED = r'''"), text.index("'''\n\nOTHER")
    repro.write_text(text[:start] + fixed + text[end:])
    run = subprocess.run([sys.executable, str(repro)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0 and "does not reproduce" in run.stdout, run.stdout + run.stderr


@needs_libtpu
def test_a_case_with_no_permute_path_is_not_audited() -> None:
    s = spec({"q": ("t0", 4, 128)}, node("load", "x", src="q"), node("sum", "r", arg="x", axis=0),
             node("store", arg="r", dst="out"))  # fmt: skip
    assert check_case(Case("plain", 0, s, None), backend="tpu-aot", generations=("v6e",), gate=("v6e",)).gate is None


def test_gate_report_covers_every_generation(tmp_path: Path) -> None:
    counts = {gen: {"eager": 100, "deferred": 80, "forced": 80} for gen in GENERATIONS}
    counts["v5e"] = {"eager": 100, "deferred": 120, "forced": 120}
    record = {"pattern": {"consumer": "sum", "rank": 3, "at_load": 0, "at_consumer": "2"}, "choice": "defer"}
    (tmp_path / "gate.jsonl").write_text(json.dumps(dict(record, counts=counts)) + "\n")
    lines = report([dict(record, counts=counts)])
    assert [line.split(":")[0] for line in lines if line[:2] in ("v4", "v5", "v6", "tp")] == list(GENERATIONS)
    assert not [line for line in lines if "not run" in line]
    assert any(line.startswith("v5e: 1 cases") and "the gate agrees in 0" in line for line in lines)
    run = subprocess.run(
        [sys.executable, "-m", "fuzzpass", "gate-report", str(tmp_path)], capture_output=True, text=True
    )
    assert run.returncode == 0 and run.stdout.splitlines() == lines
    assert "v5e: 1 cases (0 not compiled); deferral pays in 0 (0%); the gate agrees in 0 (0%)" in run.stdout
    empty = subprocess.run([sys.executable, "-m", "fuzzpass", "gate-report", str(tmp_path / "absent")],
                           capture_output=True, text=True)  # fmt: skip
    assert empty.returncode == 2 and "run with --check-gate" in empty.stderr


def test_gate_report_says_not_run_for_a_generation_the_audit_did_not_judge() -> None:
    """A run judging v5e and v6e compiles nothing for the others: the report says so rather
    than counting them as cases that did not compile."""
    record = {"pattern": {"consumer": "sum", "rank": 3, "at_load": 0, "at_consumer": "2"}, "choice": "defer",
              "counts": {"v5e": {"eager": 100, "deferred": 90, "forced": 90},
                         "v6e": {"eager": 100, "deferred": 120, "forced": 120}}}  # fmt: skip
    lines = report([record])
    assert "v4: not run: the audit judged v5e, v6e (--tpu)" in lines
    assert "tpu7x: not run: the audit judged v5e, v6e (--tpu)" in lines
    assert any(line.startswith("v6e: 1 cases (0 not compiled)") and "agrees in 0" in line for line in lines)
    assert agrees(record, "v5p") is None and agrees(record, "v5e") is True


def test_bench_table_quotes_the_measurements_beside_the_static_speedups() -> None:
    from fuzzpass.perf import bench

    config = bench.CONFIGS[0]
    assert len(bench.lengths(config)) == 256 and set(bench.lengths(config)) == {4096}
    assert bench.flops(config) == 4.0 * 256 * 4096 * 128 * 8 * 128
    rows = [{"config": config, "static": {"v6e": {"eager": 120, "deferred": 100, "forced": 100},
                                          "v5e": {"eager": None, "deferred": None, "forced": None}}}]  # fmt: skip
    table = bench.table(rows)
    assert table[0].startswith("| shape | dist | block | before | after")
    assert "| A (B=256) | uniform | q4096 | 200 | 257 | 1.28x | 1.20x | rejected |" in table
    reverse = bench.table(rows, "reverse")
    assert reverse[0] == "| shape | dist | block | v6e forced static | v5e forced static |"
    assert "| A (B=256) | uniform | q4096 | 1.20x | rejected |" in reverse


@needs_libtpu
def test_a_check_gate_run_writes_each_audit_and_counts_three_variants_per_generation(tmp_path: Path) -> None:
    from fuzzpass.perf.gate_report import load

    run = subprocess.run(
        [sys.executable, "-m", "fuzzpass", "run", "--check-gate", "--tpu", "v6e", "--policy", "deferrable",
         "--budget", "6cases", "--jobs", "1", "--seed", "5", "--out", str(tmp_path), "--no-minimize"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert run.returncode == 0 and summary["findings"] == [], run.stderr  # the real pass: no finding
    records = load(tmp_path / "gate.jsonl")
    assert 0 < len(records) == summary["gate_audited"] <= summary["cases"] == 6
    for record in records:
        assert set(record["counts"]) == {"v6e"} == set(record["rejected"])  # what --tpu judges
        for gen, counts in record["counts"].items():
            assert set(counts) == {"eager", "deferred", "forced"}
            missing = {v for v, n in counts.items() if n is None}
            if "eager" in record["rejected"][gen]:  # nothing else is compiled against a rejected baseline
                assert missing == set(counts) and set(record["rejected"][gen]) == {"eager"}
            else:
                assert missing == set(record["rejected"][gen])
    compiles = summary["tpu_compile"]
    assert list(compiles) == ["v6e"]
    assert all(row["compiled"] + row["rejected"] == len(records) for row in compiles.values())
    shown = subprocess.run([sys.executable, "-m", "fuzzpass", "gate-report", str(tmp_path)], capture_output=True,
                           text=True)  # fmt: skip
    assert shown.stdout.splitlines() == report(records)
    # each line carries its case file, so a gate can be replayed on the run's own cases
    assert [parse_case(r["case_file"]).name for r in records] == [r["case"] for r in records]
    replay = subprocess.run([sys.executable, str(ROOT / "bench" / "gate_replay.py"), str(tmp_path), "layout"],
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    first = replay.stdout.splitlines()[0]
    for gen in ("v5e", "v6e", "tpu7x"):  # the replay agrees with the run's own audit of the same gate
        agreed = sum(1 for r in records if agrees(r, gen, "layout"))
        judged = sum(1 for r in records if agrees(r, gen, "layout") is not None)
        assert f"{gen} {agreed}/{judged} " in first, replay.stdout + replay.stderr


def test_the_layout_gate_weighs_block_and_select_size_where_the_positional_looks_at_positions() -> None:
    from reference.compile import compile_variant

    def reasons(s: object, gate: str) -> str:
        return compile_variant(s, gate=gate).decisions["x"].reasons["t0"]  # type: ignore[arg-type]

    small_major_move = spec({"q": ("t0", 2, 4, 8)}, node("load", "x", src="q"),
                            node("permute", "xt", arg="x", dims=[1, 0, 2, 3]), node("sum", "r", arg="xt", axis=3),
                            node("store", arg="r", dst="out"))  # fmt: skip
    assert reasons(small_major_move, "positional") == "not-last-two-at-consumer"
    assert reasons(small_major_move, "layout") == "deferred"  # the select covers a few registers
    one_row = spec({"q": ("t0", 4, 128)}, node("load", "x", src="q"), node("permute", "xt", arg="x", dims=[1, 2, 0]),
                   node("sum", "r", arg="xt", axis=1), node("store", arg="r", dst="out"), block=1,
                   lengths=(1, 0, 1))  # fmt: skip
    assert (reasons(one_row, "positional"), reasons(one_row, "layout")) == ("deferred", "one-row-block")
    big = spec({"q": ("t0", 16, 256)}, node("load", "x", src="q"), node("permute", "xt", arg="x", dims=[1, 0, 2]),
               node("sum", "r", arg="xt", axis=2), node("store", arg="r", dst="out"), dtype="float32", block=128,
               lengths=(130,))  # fmt: skip
    assert (reasons(big, "positional"), reasons(big, "layout")) == (
        "deferred",
        "select-too-large",
    )  # 16 x 16 x 2 registers
    assert reasons(dense_kv(), "layout") == reasons(dense_kv(), "positional") == "deferred"  # the pass's own win stays


def test_gate_report_puts_each_gate_in_a_column_and_lists_the_cases_they_split() -> None:
    counts = {gen: {"eager": 100, "deferred": 80, "forced": 80} for gen in GENERATIONS}
    agreed = {"pattern": {"consumer": "sum", "rank": 3, "at_load": 0, "at_consumer": "2"}, "choice": "defer",
              "counts": counts, "case": "agreed.0",
              "gates": {g: {"choice": "defer", "counts": dict.fromkeys(GENERATIONS, 80)}
                        for g in ("positional", "layout")}}  # fmt: skip
    split_counts = {gen: {"eager": 100, "deferred": 100, "forced": 130} for gen in GENERATIONS}
    split = {"pattern": {"consumer": "sum", "rank": 4, "at_load": 0, "at_consumer": "1"}, "choice": "keep",
             "counts": split_counts, "case": "split.3",
             "gates": {"positional": {"choice": "keep", "counts": {gen: 100 for gen in GENERATIONS}},
                       "layout": {"choice": "defer", "counts": {gen: 130 for gen in GENERATIONS}}}}  # fmt: skip
    lines = report([agreed, split])
    assert "     positional gate agrees in 2 (100.0%); layout gate agrees in 1 (50.0%)" in lines  # under v6e
    header = next(line for line in lines if line.lstrip().startswith("pattern"))
    assert header.split()[-3:] == ["agrees", "positional", "layout"]
    assert "  sum          rank 4  tile 0 -> 1              1         1      0       1           1       0" in lines
    assert "cases where the gates choose differently: 1 of 2" in lines
    assert any(line.startswith("  split.3: sum rank 4 tile 0 -> 1; positional keep, layout defer") for line in lines)
    assert "    v6e    eager    100  forced    130  agrees: positional" in lines


@needs_libtpu
def test_the_audit_compiles_each_gates_choice_on_the_same_case() -> None:
    small_major_move = spec({"q": ("t0", 2, 4, 8)}, node("load", "x", src="q"),
                            node("permute", "xt", arg="x", dims=[1, 0, 2, 3]), node("sum", "r", arg="xt", axis=3),
                            node("store", arg="r", dst="out"))  # fmt: skip
    record = check_case(Case("move", 3, small_major_move, None), backend="tpu-aot", generations=(), gate=("v6e",)).gate
    assert record is not None and record.choice == "keep"  # the positional gate, the pass under test
    assert {g: r["choice"] for g, r in record.gates.items()} == {
        "positional": "keep",
        "layout": "defer",
        "generation": "defer",
    }
    assert set(record.counts) == {"v6e"}
    for gen in record.counts:  # each gate's kernel is one of the audit's: keep is eager, defer is forced here
        assert record.gates["positional"]["counts"][gen] == record.counts[gen]["eager"]
        assert record.gates["layout"]["counts"][gen] == record.counts[gen]["forced"]
    assert set(record.kernels) == {"forced"}  # the gates' kernels are eager's or forced's: each is run once


def generation_reasons(s: object, gate: str = "generation", generation: str | None = None) -> str:
    from reference.compile import compile_variant

    return compile_variant(s, gate=gate, generation=generation).decisions["x"].reasons["t0"]  # type: ignore[arg-type]


def sublane_to_lane(dtype: str = "bfloat16") -> object:
    """A tile moved from sublanes to lanes: in bfloat16, v5e schedules it 7% cheaper deferred."""
    return spec({"q": ("t0", 3)}, node("load", "x", src="q"), node("permute", "xt", arg="x", dims=[1, 0]),
                node("sum", "r", arg="xt", axis=0), node("store", arg="r", dst="out"), block=12, lengths=(16, 33),
                dtype=dtype)  # fmt: skip


HALF_PACKED_SUBLANES = spec({"q": (5, "t0", 1, 5)}, node("load", "x", src="q"),
                            node("permute", "a", arg="x", dims=[1, 2, 3, 0]),
                            node("permute", "b", arg="a", dims=[1, 2, 0, 3]), node("sum", "r", arg="b", axis=2),
                            node("store", arg="r", dst="out"), block=8, lengths=(2, 3, 5))  # fmt: skip
"""A bfloat16 block of 8 rows landing in a consumer's sublanes: a rule fitted on seeds 31 and
33 kept its mask on v6e and tpu7x; seed 52 refuted it."""


def test_the_generation_gate_parts_16_bit_moves_by_the_generation_it_compiles_for() -> None:
    packed = sublane_to_lane()
    assert [generation_reasons(packed, generation=g) for g in GENERATIONS] == [
        "deferred", "deferred", "deferred", "rank-2", "rank-2"]  # fmt: skip
    assert generation_reasons(packed) == generation_reasons(packed, "layout") == "rank-2"
    assert generation_reasons(sublane_to_lane("float32"), generation="v5e") == "rank-2"  # only 16-bit is unpacked
    for gen in (None, "v5e", "v6e", "tpu7x"):  # no rule parts a half-packed block any more
        assert generation_reasons(HALF_PACKED_SUBLANES, generation=gen) == "deferred"
    for gen in (None, "v5e", "v6e", "tpu7x"):  # the pass's own win stays, whatever the generation
        assert generation_reasons(dense_kv(), generation=gen) == "deferred"


def test_the_generation_gate_weighs_the_selects_against_the_multiply_they_replace() -> None:
    wide_load = spec(
        {"q": (1, "t0", 16, 4)},
        node("load", "x", src="q"),
        node("permute", "xt", arg="x", dims=[2, 0, 1, 3]),
        node("sum", "r", arg="xt", axis=2),
        node("store", arg="r", dst="out"),
        block=128,
        lengths=(13, 26),
    )
    assert generation_reasons(wide_load, "layout") == "select-too-large"  # 128 registers of selects
    assert generation_reasons(wide_load) == "deferred"  # ...which replace a multiply over 128
    two_lanes = dataclasses.replace(wide_load, inputs={"q": (1, "t0", 16, 2)})
    assert generation_reasons(two_lanes) == "select-too-large"  # as many registers, each a sliver filled
    one_lane = spec(
        {"q": (16, "t0", 1, 8)},
        node("load", "x", src="q"),
        node("permute", "a", arg="x", dims=[0, 2, 3, 1]),
        node("permute", "b", arg="a", dims=[0, 2, 3, 1]),
        node("permute", "c", arg="b", dims=[1, 0, 2, 3]),
        node("sum", "r", arg="c", axis=2),
        node("store", arg="r", dst="out"),
        block=16,
        lengths=(6, 11),
        dtype="float32",
    )
    assert generation_reasons(one_lane) == "select-too-large"  # its consumer has a single lane


@needs_libtpu
def test_a_gate_told_the_generation_is_compiled_and_judged_once_per_generation() -> None:
    from fuzzpass.perf.gate_report import differing

    case = Case("sublane-to-lane", 3, sublane_to_lane(), None)
    judged = ("v5e", "v6e", "tpu7x")
    result = check_case(case, backend="tpu-aot", generations=("v5e",), gate=judged, gate_rule="generation")
    record = result.gate
    assert record is not None
    assert record.choices == {"v5e": "defer", "v6e": "keep", "tpu7x": "keep"}  # the judged generations
    assert record.choice == "defer"  # the check's own deferred variant: compiled for the first of --tpu
    assert record.gates["generation"]["choices"] == record.choices
    for gen in judged:  # each generation's kernel is the one its choice makes
        made = record.counts[gen]["forced" if record.choices[gen] == "defer" else "eager"]
        assert record.counts[gen]["deferred"] == record.gates["generation"]["counts"][gen] == made
    # v5e schedules it cheaper deferred, v6e and tpu7x about the same: the layout gate, which keeps it, misses v5e
    assert [agrees(record.to_json(), g) for g in judged] == [True, True, True]
    assert [agrees(record.to_json(), g, "layout") for g in judged] == [False, True, True]
    assert not [f for f in result.findings if f.kind.value == "gate"]
    split = differing([dict(record.to_json(), case="sublane-to-lane.3")], ["layout", "generation"])
    assert "layout keep, generation v5e:defer v6e:keep tpu7x:keep" in split[1]


@needs_libtpu
def test_a_generation_that_rejects_the_eager_kernel_compiles_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    """v4 has no sublane gather, which this case's eager kernel needs: the audit compiles only
    that kernel for v4 (a case whose baseline overflowed VMEM on every generation once ran a
    worker past its timeout compiling the rest), judges nothing there, and the others as usual."""
    s = spec(
        {"q": (16, "t0", 4)},
        node("load", "x", src="q"),
        node("permute", "p", arg="x", dims=[1, 0, 2]),
        node("permute", "p2", arg="p", dims=[1, 2, 0]),
        node("sum", "r", arg="p2", axis=2),
        node("store", arg="r", dst="out"),
        block=128,
        lengths=(199, 199),
        dtype="float32",
    )
    compiled: list[str] = []
    compile_for = tpu_aot.compile_for
    monkeypatch.setattr(tpu_aot, "compile_for", lambda *a: compiled.append(a[3]) or compile_for(*a))
    record = check_case(Case("gather", 3, s, None), backend="tpu-aot", generations=("v5e",), gate=("v4", "v5e")).gate
    assert record is not None
    assert "Sublane gather" in record.rejected["v4"]["eager"] and set(record.rejected["v4"]) == {"eager"}
    assert record.counts["v4"] == {"eager": None, "deferred": None, "forced": None}
    assert compiled.count("v4") == 1 and compiled.count("v5e") > 2
    assert set(compiled) == {"v4", "v5e"} and set(record.counts) == {"v4", "v5e"}  # only what it judges
    assert agrees(record.to_json(), "v4") is None and agrees(record.to_json(), "v5e") is not None


def test_gate_generation_from_the_command_line_reads_the_first_tpu_generation(tmp_path: Path) -> None:
    """``check --gate generation --tpu GEN``: the bfloat16 sublane-to-lane move is deferred for
    v5e (no 16-bit vector unit: the value is unpacked to be masked anyway) and kept for v6e, as
    the positional gate keeps it (rank 2)."""
    path = tmp_path / "case.json"
    path.write_text(json.dumps(Case("sublane-to-lane", 3, sublane_to_lane(), None).to_json()))

    def checked(gate: str, gen: str) -> dict[str, object]:
        run = subprocess.run([sys.executable, "-m", "fuzzpass", "check", str(path), "--gate", gate, "--tpu", gen,
                              "--json"], capture_output=True, text=True, timeout=600)  # fmt: skip
        assert run.returncode == 0, run.stderr
        return json.loads(run.stdout)

    v5e, v6e, positional = checked("generation", "v5e"), checked("generation", "v6e"), checked("positional", "v5e")
    assert v5e["deferred"] == {"x": ["t0"]} and v5e["reasons"] == {"x": {"t0": "deferred"}}
    assert v6e["deferred"] == {"x": []} and v6e["reasons"] == {"x": {"t0": "rank-2"}}
    assert positional["reasons"] == {"x": {"t0": "rank-2"}}
    assert v5e["verdict"] == v6e["verdict"] == positional["verdict"] == "pass"

"""Helion's TPU-only kernels judged with numbers on the CPU: a file that skips itself in
interpret mode is imported as on a TPU, its compact-worklist kernel (data-dependent block
sizes, which plain interpret mode cannot slice) runs in TPU interpret mode on poisoned padding
and is compared with the file's own reference, and it is built for the TPU compiler without
torch_tpu. A kernel Helion refuses here is ``cannot be bound here`` with Helion's message. A
second run under the same OUT records and judges nothing again, and a corrupt record is one
line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fuzzpass.cli import main

FILES = Path(__file__).parent / "tpu_only"
RERUNNABLE = ("--seed", "0", "--jobs", "1")
"""A rerun under the same OUT reuses the recordings only under the same seed."""


def run(out: Path, *extra: str) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
    code = main(["corpus", str(FILES), "--out", str(out), "--tpu", "v5e", "--timeout", "240", *RERUNNABLE, *extra])
    summary = json.loads((out / "summary.json").read_text())
    events = [json.loads(line) for line in (out / "kernels.jsonl").read_text().splitlines()]
    return code, summary, events


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], list[dict[str, Any]]]:
    out = tmp_path_factory.mktemp("tpu-only")
    code, summary, events = run(out)
    assert code == 1, summary["corpus"]["findings"]  # the finding below
    return out, summary, events


def test_a_finding_of_helions_exits_1_and_its_repro_judges_the_call_again(first: Any) -> None:
    """On v5e Mosaic rejects Helion's eager kernel of the worklist attention, not its deferred
    one: deferring fixes a v5e compile, a ``helion-compile`` finding of Helion's baseline."""
    out, summary, _ = first
    (finding,) = summary["corpus"]["findings"]
    assert finding["kind"] == "helion-compile" and finding["kernel"] == "dense_kv_attention"
    assert finding["message"].startswith("v5e: helion-off rejected, helion-on compiled")
    folder = out / finding["directory"]
    assert "python -m fuzzpass.kernels.rejudge" in (folder / "repro.sh").read_text()
    repro = subprocess.run(
        [sys.executable, "-m", "fuzzpass.kernels.rejudge", str(folder)], capture_output=True, text=True, timeout=600
    )
    assert repro.returncode == 1, repro.stderr[-2000:]
    assert repro.stdout.startswith("reproduces: helion-compile | helion-off: v#e: helion-off rejected")


def test_a_file_that_skips_itself_in_interpret_mode_runs_as_on_a_tpu(first: Any) -> None:
    _, summary, events = first
    (file,) = [e for e in events if e.get("event") == "file"]
    assert "skips itself in interpret mode (Skipped: compact worklist is TPU-only in this file)" in file["tpu_only"]
    assert summary["corpus"]["entries"] == {"passed": 2, "failed": 1}  # the refused kernel's test fails


def test_the_worklist_kernel_gets_numbers_from_tpu_interpret_mode(first: Any) -> None:
    _, summary, events = first
    (call,) = [e for e in events if e.get("entry") == "TestWorklist.test_unroll_worklist_matches_eager"]
    assert call["fired"] and {"node": "load", "source": "q", "deferred": ["tile_q"]} in call["decisions"]
    n = call["numerics"]
    assert n["interpreter"] == "TPU interpret"
    assert n["interpret mode"].startswith("cannot run the pass-off kernel: TypeError: Shapes must be 1D sequences")
    assert n["on vs reference"] == n["off vs reference"] == n["on vs off"] == "agree"  # the test's assert_close
    assert call["numerics_result"] == "agree" and summary["corpus"]["kernels"]["numerics_agree"] == 2
    # built for the TPU compiler without torch_tpu: a compiler saw both kernels
    assert all(v["ok"] is not None for v in call["compiles"]["v5e"].values()), call["compiles"]


def test_a_test_that_only_reads_the_code_gives_a_call_judged_with_numbers(first: Any) -> None:
    _, _, events = first
    (call,) = [e for e in events if e.get("entry") == "TestCodegen.test_fori_loop_code_has_no_eager_mask_on_q"]
    assert call["fired"] and call["config"] == "Config(block_sizes=[16], pallas_loop_type='fori_loop')"
    assert call["numerics"]["on vs off"] == "agree"
    assert "on vs reference" not in call["numerics"]  # the test compared no result
    assert call["numerics_result"] == "agree"


def test_a_kernel_helion_refuses_is_cannot_be_bound_here(first: Any) -> None:
    _, summary, events = first
    (refused,) = [e for e in events if e.get("kernel") == "TestRefused.test_opposite_direction.opposite"]
    assert refused["status"] == "skipped"
    assert refused["reason"].startswith("cannot be bound here: InductorLoweringError: ")
    assert "no entry of its file calls it" not in summary["corpus"]["kernels"]["skipped"]


def test_a_second_run_judges_nothing_again(first: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, summary, events = first
    again = tmp_path / "again"
    shutil.copytree(out, again)
    capsys.readouterr()
    _, summary2, events2 = run(again)
    err = capsys.readouterr().err
    assert "1 files recorded by an earlier run" in err and "2 calls judged by an earlier run" in err
    assert "judging" not in err
    assert summary2["corpus"]["kernels"] == summary["corpus"]["kernels"]
    assert [e.get("kernel") for e in events2] == [e.get("kernel") for e in events]


def test_corrupt_records_are_one_line(first: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, _, _ = first
    broken = tmp_path / "broken"
    shutil.copytree(out, broken)
    judged = sorted(broken.glob("calls/*/dense_kv_attention.*/judged.json"))[0]
    judged.write_text("{not json")
    assert main(["corpus", str(FILES), "--out", str(broken), "--tpu", "v5e", *RERUNNABLE]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"fuzzpass: error: corpus: {judged}: not a JSON record")
    # a call whose pickle is corrupt is judged again and skipped with why, the run goes on
    judged.unlink()
    (judged.parent / "call.pkl").write_bytes(b"not a pickle")
    code, _summary, events = run(broken)
    (call,) = [e for e in events if e.get("kernel") == "dense_kv_attention" and e["status"] == "skipped"]
    assert call["reason"].startswith("its record cannot be read: ")
    assert code == 1  # the other call's finding stands

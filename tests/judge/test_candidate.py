"""``--pass FILE.py:NAME``: a candidate pass from a file replaces the reference in the deferred
variant; bad files and names exit 2 with one line; findings record the file and its sha256,
and reopening one after the file changed is refused."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fuzzpass.core.case import load_case
from fuzzpass.core.expect import expect_from_spec
from fuzzpass.fuzz.campaign import campaign, options_for
from fuzzpass.fuzz.options import TIMEOUT, Budget
from fuzzpass.judge.candidate import CandidateError, parse
from fuzzpass.judge.checked import Config, check

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "dense-kv-q-transpose-dot.json"

PERMUTE_IS_ENOUGH = '''
from reference.defer import MaskDeferral


class PermuteIsEnough(MaskDeferral):
    """Trusts the first permute on a path to re-mask: checks where a path starts, not where it ends."""

    def use_remasks(self, user, node, tile, memo):
        return self.is_remask(user, node, tile) or self.is_relayout(user)


class SameAsReference(MaskDeferral):
    pass


NOT_A_PASS = 3
'''


@pytest.fixture
def candidate_file(tmp_path: Path) -> Path:
    path = tmp_path / "elsewhere" / "my_pass.py"  # outside the repository
    path.parent.mkdir()
    path.write_text(PERMUTE_IS_ENOUGH)
    return path


def fuzzpass(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fuzzpass", *args], capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("{file}:Missing", "the file has no 'Missing'"),
        ("{file}:NOT_A_PASS", "NOT_A_PASS is not a subclass of reference.defer.MaskDeferral"),
        ("{broken}:X", "the file does not import: ModuleNotFoundError: No module named 'no_such_module_here'"),
        ("{dir}/absent.py:X", "absent.py is not a file"),
        ("{file}", "expected FILE.py:NAME (a MaskDeferral subclass in a Python file)"),
    ],
)
def test_a_pass_that_cannot_be_used_exits_2_with_one_line(candidate_file: Path, spec: str, message: str) -> None:
    broken = candidate_file.with_name("broken.py")
    broken.write_text("import no_such_module_here\n")
    text = spec.format(file=candidate_file, broken=broken, dir=candidate_file.parent)
    run = fuzzpass("check", str(EXAMPLE), "--tpu", "none", "--pass", text)
    assert run.returncode == 2
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith("fuzzpass: error: --pass ") and line.endswith(message), line
    with pytest.raises(CandidateError, match=re.escape(message)):
        parse(text)


def test_a_candidate_replaces_the_reference_and_its_findings_say_which_file(candidate_file: Path) -> None:
    case = load_case(EXAMPLE)
    same = check(case, Config(candidate=parse(f"{candidate_file}:SameAsReference")))
    assert same.verdict == "pass" and same.report["pass"]["name"] == "SameAsReference"
    store = json.loads(EXAMPLE.read_text())
    store["graph"].append({"op": "store", "arg": "xt", "dst": "raw"})  # a second use the candidate misses
    other = candidate_file.with_name("case.json")
    other.write_text(json.dumps(store))
    rules = expect_from_spec(load_case(other).spec)  # what the rules say now: keep x's mask
    store["expect"] = {
        "deferred": {load: [t for t, r in tiles.items() if r == "deferred"] for load, tiles in rules.items()}
    }
    other.write_text(json.dumps(store))
    found = check(load_case(other), Config(candidate=parse(f"{candidate_file}:PermuteIsEnough")))
    assert found.verdict == "decision", found.report["findings"]
    recorded = found.report["pass"]
    assert recorded["file"] == str(candidate_file) and len(recorded["sha256"]) == 64
    assert check(load_case(other), Config()).verdict == "pass"  # the reference pass gets it right


def test_a_run_records_the_candidate_and_reopening_a_changed_file_is_refused(
    candidate_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    spec = f"{candidate_file}:PermuteIsEnough"
    run = fuzzpass("run", "--pass", spec, "--budget", "120", "--jobs", "1", "--seed", "1", "--stop-at-first",
                   "--no-minimize", "--out", str(out), "--quiet")  # fmt: skip
    assert run.returncode == 1, run.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["pass"] == parse(spec).to_json()
    finding = summary["findings"][0]
    verdict = json.loads(Path(finding["verdict_json"]).read_text())
    assert verdict["pass"]["sha256"] == parse(spec).sha256
    repro = tmp_path / "repro.py"
    exported = fuzzpass("export", finding["case"], "-o", str(repro))
    assert exported.returncode == 0, exported.stderr
    assert f"pass {spec} (sha256 {parse(spec).sha256})" in repro.read_text()
    candidate_file.write_text(PERMUTE_IS_ENOUGH + "\n# edited\n")
    again = fuzzpass("minimize", finding["case"], "-o", str(tmp_path / "min.json"))
    assert again.returncode == 2
    (line,) = again.stderr.strip().splitlines()
    assert "the file changed since it was recorded" in line and "give --pass again" in line


def test_mutants_kills_a_candidate_written_elsewhere(candidate_file: Path) -> None:
    """A budget in cases, not seconds: the same seed kills at the same case on a slow machine."""
    run = fuzzpass("mutants", "--pass", f"{candidate_file}:PermuteIsEnough", "--budget", "12cases", "--jobs", "1",
                   "--seed", "1", "--json")  # fmt: skip
    assert run.returncode == 0, run.stderr
    (row,) = json.loads(run.stdout)
    assert row["killed"] and row["mutant"] == f"{candidate_file}:PermuteIsEnough"


def test_a_candidates_campaign_checks_its_forced_kernel_without_the_audits_compiles(
    candidate_file: Path, tmp_path: Path
) -> None:
    """A candidate's campaign checks its forced kernel too (``check_forced``), but compiles
    nothing for a TPU: a case costs what a shipped mutant's does, under the run's limit."""
    candidate = parse(f"{candidate_file}:SameAsReference")
    rows = campaign([candidate], policy=None, seed=1, budget=Budget(cases=6), jobs=1, out=tmp_path,
                    minimize_seconds=None, log=lambda _: None)  # fmt: skip
    assert not rows[0]["killed"] and rows[0]["cases"] >= 6
    (written,) = tmp_path.glob("*/summary.json")
    summary = json.loads(written.read_text())
    assert summary["gate_generations"] is None and summary["check_forced"] is True
    assert options_for(Config(candidate=candidate, check_forced=True), Budget(cases=1), 1, tmp_path).timeout == TIMEOUT

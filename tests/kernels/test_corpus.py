"""``fuzzpass corpus`` end to end on the small kernel files of ``corpus/``: every kernel found,
bound or skipped with its reason, the pass's firing and its diff, numerics on poisoned padding
and against each file's own reference, deviceless compiles, the gate audit, fired kernels as
seed cases, and a worker killed by one test without losing the run."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from fuzzpass.cli import main

CORPUS = Path(__file__).parent / "corpus"


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path, dict[str, Any], list[dict[str, Any]]]:
    out = tmp_path_factory.mktemp("corpus-run")
    code = main(
        ["corpus", str(CORPUS), "--out", str(out), "--jobs", "2", "--tpu", "v5e", "--timeout", "240", "--seed", "0"]
    )
    summary = json.loads((out / "summary.json").read_text())
    events = [json.loads(line) for line in (out / "kernels.jsonl").read_text().splitlines()]
    return code, out, summary, events


def checked(events: list[dict[str, Any]], kernel: str) -> list[dict[str, Any]]:
    return [e for e in events if e.get("kernel") == kernel and e.get("status") == "checked"]


def test_counts_every_kernel_and_why_the_rest_were_skipped(corpus_run: Any) -> None:
    code, _, summary, _ = corpus_run
    c = summary["corpus"]
    k = c["kernels"]
    assert code == 0, c["findings"]
    assert c["files"] == 7  # the six kernel files and the package's __init__
    assert list(c["files_skipped"]) == [
        "import failed: ModuleNotFoundError: No module named 'a_package_fuzzpass_does_not_have'"
    ]
    assert k["found"] == 6 and k["bound"] == 5 and k["calls"] == 7
    assert k["skipped"] == {"no entry of its file calls it": 1}  # never_called
    assert k["fired"] == 3 and k["numerics_agree"] == 3 and k["numerics_differ"] == 0
    assert k["compile"] == {"v5e": {"compiled": 3}}  # where the pass fired
    assert k["numerics_not_run"] == {}
    assert k["gate"]["audited"] == 3
    assert k["expressible"] == 2
    assert k["not_expressible"] == {"a sum over several axes, or keepdim, after the mask": 1}
    assert c["entries"] == {"passed": 6, "skipped, run anyway: failed": 1}  # each entry once: none ran twice
    assert sum(c["share"].values()) == pytest.approx(1.0, abs=0.01)


def test_a_worker_killed_by_one_test_loses_that_test_only(corpus_run: Any) -> None:
    _, _, summary, events = corpus_run
    assert summary["corpus"]["entries_lost"] == ["kills_worker.py: test_b_dies: the worker died (exit 3)"]
    # the file ran again without the killing test: both other tests' calls of add_one are there
    calls = checked(events, "add_one")
    assert {e["entry"] for e in calls} == {"test_a_add_one", "test_c_add_one_again"}


def test_a_test_skipped_here_still_gives_its_kernel_its_inputs(corpus_run: Any) -> None:
    _, _, _, events = corpus_run
    calls = {e["entry"]: e for e in checked(events, "row_sum")}
    assert set(calls) == {"TestKeeps.test_row_sum", "TestKeeps.test_tpu_only"}


def test_the_pass_fires_where_it_should_with_its_diff(corpus_run: Any) -> None:
    _, _, _, events = corpus_run
    fired = {e["kernel"] for e in events if e.get("fired")}
    assert fired == {"jagged_head_sum", "jagged_proj", "head_sum_keepdim"}
    for row_sum in checked(events, "row_sum"):
        assert not row_sum["fired"] and row_sum["diff"] == "" and list(row_sum["sources"]) == ["on"]
    (head,) = checked(events, "jagged_head_sum")
    removed = [line for line in head["diff"].splitlines() if line.startswith("-") and "* mask_" in line]
    added = [line for line in head["diff"].splitlines() if line.startswith("+") and "jnp.where" in line]
    assert removed and added  # the eager multiply left the load, a where came after the transpose
    assert head["decisions"][0] == {"node": "load", "source": "x", "deferred": ["tile"]}


def test_numerics_on_poisoned_padding_and_against_the_files_reference(corpus_run: Any) -> None:
    _, _, _, events = corpus_run
    (head,) = checked(events, "jagged_head_sum")
    n = head["numerics"]
    assert n["on vs reference"] == "agree" and n["off vs reference"] == "agree"  # the test's assert_close
    assert n["on poisoned vs clean"] == "agree"
    assert "non-finite" in n["off poisoned vs clean"]  # the eager x * mask turned poison into NaN
    (proj,) = checked(events, "jagged_proj")
    assert proj["numerics"]["on vs reference"] == "agree"  # run_example's baseline


def test_fired_kernels_become_seed_cases(corpus_run: Any) -> None:
    _, out, summary, _ = corpus_run
    from fuzzpass.core.case import parse_case

    names = sorted(p.stem for p in (out / "cases").glob("*.json"))
    assert names == ["jagged_head_sum", "jagged_proj"] == summary["corpus"]["seeds"]["added"]
    assert sorted(p.stem for p in (out / "examples" / "seeds").glob("*.json")) == names
    proj = parse_case(json.loads((out / "cases" / "jagged_proj.json").read_text()))
    assert [n.op for n in proj.spec.graph] == ["load", "permute", "load", "dot_general", "store"]
    assert proj.expect_deferred == {"x": ("t0",), "w2": ()}


class _Rows(HTMLParser):
    """The text of each cell of each row of the table with id ``real-kernel-calls``."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.inside = ("id", "real-kernel-calls") in attrs
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.rows[-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False

    def handle_data(self, data: str) -> None:
        if self.inside and self.rows and self.rows[-1]:
            self.rows[-1][-1] += data


def test_report_has_a_row_per_call_with_what_was_measured(corpus_run: Any) -> None:
    _, out, _, _ = corpus_run
    parser = _Rows()
    parser.feed((out / "report.html").read_text())
    head, *rows = parser.rows
    assert head == ["kernel", "file, entry", "pass fired", "numerics", "v5e", "gate", "verdict"]
    by_kernel = {row[0]: row for row in rows}
    assert len(rows) == 7 and [row[2] for row in rows[:3]] == ["yes"] * 3  # fired ones first
    assert by_kernel["jagged_head_sum"][2:] == ["yes", "agree", "compiled both", "agrees", "pass"]
    assert by_kernel["add_one"][2:] == ["no", "\u2014", "\u2014", "\u2014", "pass"]  # nothing of the pass's to compile


def test_a_path_that_is_not_python_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["corpus", str(tmp_path / "nowhere.txt"), "--out", str(tmp_path / "o"), "--tpu", "none"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"fuzzpass: error: corpus: {tmp_path / 'nowhere.txt'}: not a Python file or a directory"]


def test_a_test_files_shards_make_one_record() -> None:
    """A test file's entries split over two workers, one of which died in an entry: one file
    event, outcomes summed, at most two calls a kernel, a kernel skipped in one shard and
    called in the other not skipped, and the loss listed."""
    from fuzzpass.kernels.campaign import _Recording, file_record

    def ran(n: int, outcome: str) -> dict[str, Any]:
        return {"event": "ran", "number": n, "outcome": outcome, "seconds": 1.5}

    def call(kernel: str, folder: str) -> dict[str, Any]:
        return {"event": "call", "kernel": kernel, "folder": folder}

    def skipped(kernel: str, reason: str) -> dict[str, Any]:
        return {"event": "kernel", "kernel": kernel, "status": "skipped", "reason": reason}

    first, second = _Recording("t.py", (0, 2)), _Recording("t.py", (1, 2))
    first.heard([{"event": "file", "file": "t.py"}, ran(0, "passed"), call("k", "k.0.0"), call("k", "k.0.1")])
    first.heard([ran(2, "failed"), call("k", "k.2.0"), skipped("j", "no entry of its file calls it")])
    second.heard([{"event": "file", "file": "t.py"}, {"event": "where", "number": 1}])
    second.events.append({"event": "lost", "file": "t.py", "entry": "T.test_b", "reason": "the worker died (exit 3)"})
    second.restarts = 1
    second.heard([{"event": "file", "file": "t.py"}, ran(3, "passed"), call("j", "j.3.0")])
    second.heard([skipped("k", "no entry of its file calls it"), skipped("m", "cannot be bound here: E: no")])
    events, folders = file_record("t.py", [first, second])
    assert folders == ["k.0.0", "k.0.1", "j.3.0"]
    assert [e["event"] for e in events] == ["file", "lost", "entries", "kernel"]
    assert events[2]["outcomes"] == {"passed": 2, "failed": 1} and events[2]["seconds"] == {"entries": 4.5}
    assert events[3]["kernel"] == "m" and events[3]["reason"] == "cannot be bound here: E: no"
    assert first.skip == {0, 2} and second.skip == {3}


def test_a_recording_worker_past_its_memory_retires_between_entries(tmp_path: Path) -> None:
    """Its first entry runs whatever it holds; before the next it retires, having said what
    ran and written its calls, so a fresh worker runs only the rest."""
    from fuzzpass.kernels.record_worker import Limits, record_file

    events: list[dict[str, Any]] = []
    retired = record_file(CORPUS / "keeps_eager.py", set(), (0, 1), events.append, tmp_path, 0, Limits(60, 0))
    assert retired
    kinds = [e["event"] for e in events]
    assert kinds == ["file", "where", "call", "ran", "retire"]
    assert events[3] == {"event": "ran", "number": 0, "outcome": "passed", "seconds": events[3]["seconds"]}
    assert events[4]["reason"].endswith("GiB resident before TestKeeps.test_tpu_only")
    assert (tmp_path / "calls").is_dir() and any((tmp_path / "calls").rglob("call.pkl"))

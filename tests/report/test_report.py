"""The morning report, rendered in a real browser: headless Chromium (Debian's ``chromium`` and
its ``chromedriver``, which ``.ci/run`` installs) driven by Selenium. The page of a real short
run (a mutant's finding, a gate audit) has every finding's row with working relative links, its
kernels side by side, charts that are SVGs with data in them, and it made no network request. A
run that left little behind (no findings, no ``gate.jsonl``, an unreadable ``verdict.json``, no
``summary.json``) renders with what exists and says what is missing. A ``fuzzpass corpus`` run's
directory (written by hand) has its "Real kernels" section: counts, fired calls first, the pass's
diff lines marked, skips by reason, findings linked, a broken ``kernels.jsonl`` line said at the top.
A signature or message that is markup (``<script>``, ``&``) shows as that text: escaped once."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from markupsafe import escape

from fuzzpass.report.write import write_report

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium with its network log on."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert CHROMIUM and CHROMEDRIVER, "the report's tests need chromium and chromedriver (.ci/run installs Debian's)"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.add_argument("--window-size=1280,2000")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def open_page(browser: Any, page: Path) -> list[str]:
    """Load ``page``; the URLs of every request it made while loading."""
    browser.get_log("performance")  # what earlier pages requested
    browser.get(page.as_uri())
    requests = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requests.append(message["params"]["request"]["url"])
    return requests


def fuzzpass(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fuzzpass", *args], capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def finding_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run with a mutant's finding (minimized and exported) and a gate audit."""
    out = tmp_path_factory.mktemp("run")
    run = fuzzpass("run", "--mutant", "drop-remask", "--check-gate", "--tpu", "v6e", "--budget", "25cases",
                   "--jobs", "2", "--seed", "3", "--out", str(out), "--quiet", "--minimize-seconds", "30")  # fmt: skip
    assert run.returncode == 1, run.stderr
    return out


def test_a_run_writes_its_report_and_the_browser_shows_every_finding_with_working_links(
    finding_run: Path, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    page = finding_run / "report.html"
    requests = open_page(browser, page)
    assert requests == [page.as_uri()]  # the page itself, nothing else: no script, font or image fetched
    summary = json.loads((finding_run / "summary.json").read_text())
    assert summary["findings"]
    rows = browser.find_elements(By.CSS_SELECTOR, "#findings tr.finding")
    assert len(rows) == len(summary["findings"])
    for row, finding in zip(rows, summary["findings"], strict=True):  # new first; all new in a first run
        assert finding["signature"] in row.text and "new" in row.text
        links = {a.text: a.get_attribute("href") for a in row.find_elements(By.TAG_NAME, "a")}
        assert {"case.json", "minimized.json", "repro.py"} <= set(links)
        for href in links.values():
            target = Path(unquote(urlparse(href).path))
            assert target.is_file() and target.parent.parent == finding_run / "findings"
    kernels = browser.find_elements(By.CSS_SELECTOR, "details[id^=kernels] table.kernels")
    assert kernels and kernels[0].find_elements(By.CSS_SELECTOR, "tr.changed")  # the pass's lines marked


@pytest.mark.parametrize("chart", ["coverage", "timeline", "compiles", "gate"])
def test_each_chart_is_an_svg_with_data_in_it(finding_run: Path, browser: Any, chart: str) -> None:
    from selenium.webdriver.common.by import By

    open_page(browser, finding_run / "report.html")
    (svg,) = browser.find_elements(By.CSS_SELECTOR, f"figure#{chart} > svg")
    assert svg.size["width"] > 200 and svg.size["height"] > 100  # laid out, not an empty box
    marks = svg.find_elements(By.CSS_SELECTOR, 'g[id^="patch"] path, g[id^="line2d"] path, g[id^="PathCollection"] use')
    assert len(marks) >= 3  # bars, lines or points drawn from the run's numbers


def test_an_empty_run_renders_and_says_what_it_lacks(tmp_path: Path, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    run = fuzzpass("run", "--budget", "3cases", "--jobs", "1", "--seed", "1", "--out", str(tmp_path), "--quiet")
    assert run.returncode == 0, run.stderr
    open_page(browser, tmp_path / "report.html")
    assert browser.find_element(By.ID, "no-findings").text == "No findings."
    assert "no gate audit in this run" in browser.find_element(By.ID, "gate-absent").text
    assert browser.find_element(By.CSS_SELECTOR, "#run").text.startswith("seed 1")


def test_an_interrupted_run_renders_with_what_exists(finding_run: Path, tmp_path: Path, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    broken = tmp_path / "broken"
    shutil.copytree(finding_run / "findings", broken / "findings")
    (first,) = list((broken / "findings").glob("*/verdict.json"))[:1]
    first.write_text("{ not json")
    command = fuzzpass("report", str(broken))
    assert command.returncode == 0 and command.stdout.strip() == str(broken / "report.html"), command.stderr
    open_page(browser, broken / "report.html")
    missing = browser.find_element(By.ID, "missing").text
    assert "summary.json is not there" in missing and "verdict.json cannot be read" in missing
    assert browser.find_elements(By.CSS_SELECTOR, "#findings tr.finding")  # found from the directory itself


def test_report_of_a_directory_that_is_not_there_is_one_line(tmp_path: Path) -> None:
    command = fuzzpass("report", str(tmp_path / "nothing"))
    assert command.returncode == 2 and command.stderr.count("\n") == 1 and "is not a run's --out" in command.stderr


def test_the_same_run_gives_the_same_charts(finding_run: Path, tmp_path: Path) -> None:
    first = write_report(finding_run, tmp_path / "a.html").read_text()
    second = write_report(finding_run, tmp_path / "b.html").read_text()
    strip = [line for line in first.splitlines() if "written" not in line]
    assert strip == [line for line in second.splitlines() if "written" not in line]


def test_a_helion_run_shows_helions_agreement_compiles_and_gate(tmp_path: Path) -> None:
    """The Helion parts, from a ``--backend helion --check-gate`` run's files (written here: a
    real one takes minutes): Helion's agreement table, its compile panel, its gate points."""
    counts = {"eager": 1000, "deferred": 900, "forced": 900}
    record = {"pattern": {}, "choice": "defer", "counts": {"v6e": counts}, "rejected": {}, "case": "c"}
    helion = dict(record, by="helion", choice="keep", counts={"v6e": {"eager": 1200, "deferred": 1200, "forced": 800}})
    (tmp_path / "gate.jsonl").write_text(json.dumps(dict(record, by="reference")) + "\n" + json.dumps(helion) + "\n")
    tally = {"v6e": {"compiled": 3, "rejected": 1, "unsupported": 2, "messages": {"Invalid vector type for load": 1}}}
    summary = {"seed": 1, "backend": "helion", "policy": "helion", "findings": [], "gate_generations": ["v6e"],
               "helion_decisions": {"agree": 40, "differ": 2, "rate": 0.9524}, "tpu_compile": tally,
               "helion_tpu_compile": tally, "branches": {"deferred": 3, "gate": 0}}  # fmt: skip
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    page = write_report(tmp_path).read_text()
    assert '<table id="helion"><tr><th>agree</th><td>40</td></tr>' in page
    assert page.count("kernels</text>") == 2  # the reference's and Helion's compile panels
    assert "helion: gate finding (1)" in page and "reference (1)" in page  # 1200 > 800 * 1.05: Helion kept, costlier
    assert "Invalid vector type for load" in page


def test_a_run_against_a_baseline_helion_shows_regressions_first_with_their_range(tmp_path: Path) -> None:
    """The nightly against Helion's main: its regressions lead the findings, each with what
    ``fuzzpass bisect`` said, and the baseline's table counts what was fixed (no finding)."""
    findings = []
    for name, kind, first in (("m", "helion-mismatch", 1.0), ("r", "helion-regression", 9.0)):
        (tmp_path / "findings" / name).mkdir(parents=True)
        (tmp_path / "findings" / name / "verdict.json").write_text(json.dumps({"verdict": kind, "findings": []}))
        case = str(tmp_path / "findings" / name / "case.json")
        findings.append({"signature": f"{kind} | x | y", "kind": kind, "case": case, "new": True, "first_at_s": first})
    (tmp_path / "findings" / "r" / "bisect").mkdir()
    answer = "helion-crash (helion-on) broke between 1.5.0 (good) and 1.5.1 (bad)"
    (tmp_path / "findings" / "r" / "bisect" / "bisect.json").write_text(json.dumps({"answer": answer}))
    baseline = {"helion": "1.5.0", "compared": 985, "not_run": 0, "fixed_cases": 2,
                "regressed": {"helion-crash (helion-on) | any": 1},
                "fixed": {"helion-mismatch (helion-off) | permute>add>sum": 8}}  # fmt: skip
    summary = {"seed": 5, "backend": "helion", "findings": findings, "versions": {"helion": "1.5.1"},
               "helion_decisions": {"agree": 999, "differ": 0, "rate": 1.0}, "helion_baseline": baseline}  # fmt: skip
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    page = write_report(tmp_path).read_text()
    assert page.index("helion-regression | x | y") < page.index("helion-mismatch | x | y")  # found later, shown first
    assert f'<div class="bisected">bisected: {answer}</div>' in page
    assert "<h2>Helion 1.5.1 against the baseline 1.5.0</h2>" in page
    assert "<th>fixed (no finding): helion-mismatch (helion-off) | permute&gt;add&gt;sum</th><td>8</td>" in page


class _Text(HTMLParser):
    """The text of a page (character references decoded) and the tags it opens."""

    def __init__(self) -> None:
        super().__init__()
        self.text = ""
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text += data


def shown(page: str) -> _Text:
    parser = _Text()
    parser.feed(page)
    return parser


MARKUP = '<script>alert("x")</script> & a<b'
"""A value that is markup: shown as text, it is escaped exactly once (``&amp;`` once, no
``&amp;lt;``), and no tag of it reaches the page."""


def test_a_findings_signature_with_markup_in_it_is_shown_as_text_escaped_once(tmp_path: Path) -> None:
    (tmp_path / "findings" / "f").mkdir(parents=True)
    (tmp_path / "findings" / "f" / "verdict.json").write_text(json.dumps({"verdict": "mismatch"}))
    finding = {"signature": f"mismatch | {MARKUP}", "kind": "mismatch", "case": str(tmp_path / "findings" / "f" / "x")}
    (tmp_path / "summary.json").write_text(json.dumps({"seed": 1, "findings": [finding], "verdicts": {MARKUP: 1}}))
    page = write_report(tmp_path).read_text()
    assert "<script" not in page and "&amp;lt;" not in page and "&amp;amp;" not in page
    assert f"<code>mismatch | {escape(MARKUP)}</code>" in row(page, "finding-0")
    text = shown(page)
    assert text.text.count(f"mismatch | {MARKUP}") == 2  # its row and its kernels' summary, as it is
    assert f"{MARKUP} 1" in text.text and "script" not in text.tags  # the run's verdicts


def test_a_real_kernels_finding_message_with_markup_in_it_is_shown_as_text_escaped_once(tmp_path: Path) -> None:
    corpus = corpus_run(tmp_path)
    events = [json.loads(line) for line in (corpus / "kernels.jsonl").read_text().splitlines()]
    events[1]["findings"][0]["message"] = MARKUP
    (corpus / "kernels.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    page = write_report(corpus).read_text()
    assert "<script" not in page and "&amp;lt;" not in page and "&amp;amp;" not in page
    assert f"<b>helion-mismatch</b> (run, helion-on): {escape(MARKUP)}</li>" in page
    text = shown(page)
    assert f"(run, helion-on): {MARKUP}" in text.text and "script" not in text.tags


DIFF = """--- pass off
+++ pass on
@@ -3,4 +3,4 @@
 def _kernel(x_ref, out_ref):
-    x = jnp.where(mask, x_ref[...], 0)
+    x = x_ref[...]
     y = x < 1.0 and x > -1.0
-    out_ref[...] = jnp.sum(x, axis=0)
+    out_ref[...] = jnp.sum(jnp.where(mask, x, 0), axis=0)
"""
"""A removed line of code that begins ``--`` would be marked as removed, not as a header: the
header is what comes before the first hunk."""


def corpus_run(out: Path) -> Path:
    """A ``fuzzpass corpus`` run's directory, written by hand (a real one needs Helion's test
    files and minutes): a fired kernel with a diff and a finding, one the pass left alone (listed
    first, to be sorted after), one skipped, and the finding's directory."""
    slug = "helion-mismatch-jagged_proj-1a2b3c4d"
    corpus = {
        "paths": ["/src/helion/test/test_k.py"], "seed": 0, "files": 3,
        "files_skipped": {"import failed: ModuleNotFoundError: No module named 'triton'": 1},
        "entries": {"passed": 30, "failed": 2, "skipped": 1, "xfail": 1},
        "entries_lost": ["test_k.py: test_b: the worker died (exit 3)"],
        "kernels": {"found": 40, "bound": 30, "calls": 31,
                    "skipped": {"no entry of its file calls it": 7, "cannot be bound here: RuntimeError: no": 3},
                    "fired": 4, "numerics_agree": 3, "numerics_differ": 1,
                    "compile": {"v5e": {"compiled": 25, "rejected": 5}, "v6e": {"compiled": 29, "rejected": 1}},
                    "gate": {"audited": 4, "agrees": {"v5e": 4, "v6e": 3}},
                    "expressible": 3, "not_expressible": {"the mask's consumer aten.mul.Tensor has no op": 1}},
        "findings": [{"signature": "helion-mismatch | helion-on: poison leaks | jagged_proj", "kind": "helion-mismatch",
                      "kernel": "jagged_proj", "file": "/src/helion/test/test_k.py", "directory": f"findings/{slug}"}],
        "seconds": 120.5, "kernels_per_second": 0.25,
        "share": {"entries": 0.3, "bind": 0.2, "run": 0.1, "compile": 0.4},
    }  # fmt: skip
    summary = {"command": "corpus", "versions": {"helion": "1.5.1"}, "generations": ["v5e", "v6e"],
               "gate_generations": ["v5e", "v6e"], "corpus": corpus}  # fmt: skip
    ok = {"ok": True, "bundles": 120, "message": ""}
    calm = {"event": "kernel", "file": "/src/helion/test/test_k.py", "kernel": "add_one", "entry": "TestK.test_add",
            "status": "checked", "verdict": "pass", "fired": False, "decisions": [], "diff": "",
            "sources": {"on": "..."}, "numerics": {}, "compiles": {"v5e": {"on": ok}, "v6e": {"on": ok}},
            "gate": None, "findings": [], "seconds": {"bind": 1.0}, "case": None}  # fmt: skip
    fired = dict(
        calm, kernel="jagged_proj", entry="TestK.test_jagged", verdict="helion-mismatch", fired=True, diff=DIFF,
        decisions=[{"node": "load", "source": "x", "deferred": ["b0"]}],
        sources={"off": "...", "on": "..."}, numerics={"on vs off": "agree", "on vs off, poisoned": "NaN in 3 of 8"},
        compiles={"v5e": {"off": ok, "on": {"ok": False, "bundles": None, "message": "Invalid vector type"}},
                  "v6e": {"off": ok, "on": ok}},
        gate={"by": "helion", "choice": "defer", "counts": {"v5e": {"eager": 100, "deferred": 90, "forced": 90},
                                                            "v6e": {"eager": 100, "deferred": 200, "forced": 200}}},
        findings=[{"kind": "helion-mismatch", "stage": "run", "variant": "helion-on", "message": "poison leaks"}],
        case={"reason": "the mask's consumer aten.mul.Tensor has no op"},
    )  # fmt: skip
    skipped = {"event": "kernel", "file": "/src/helion/test/test_k.py", "kernel": "unused_kernel", "status": "skipped",
               "reason": "no entry of its file calls it"}  # fmt: skip
    (out / "summary.json").write_text(json.dumps(summary))
    (out / "kernels.jsonl").write_text("".join(json.dumps(e) + "\n" for e in (calm, fired, skipped)))
    (out / "findings" / slug).mkdir(parents=True)
    (out / "findings" / slug / "pass.diff").write_text(DIFF)
    (out / "findings" / slug / "kernel.json").write_text(json.dumps(fired))
    return out


def row(page: str, ident: str) -> str:
    """The table row of ``page`` with id ``ident``."""
    start = page.index(f'id="{ident}"')
    return page[start : page.index("</tr>", start)]


def test_a_corpus_run_shows_its_real_kernels_counts_rows_diffs_skips_and_findings(tmp_path: Path) -> None:
    page = write_report(corpus_run(tmp_path)).read_text()
    section = page[page.index('<section id="real-kernels">') : page.index("</section>")]
    assert page.index('<table id="run">') < page.index('<section id="real-kernels">')  # after the run, near the top
    assert "fuzzpass corpus /src/helion/test/test_k.py --seed 0 --tpu v5e,v6e" in page  # its rerun
    assert "<th>kernels found</th><td>40</td>" in section and "30 (31 calls checked)" in section
    assert "<li>7: no entry of its file calls it</li>" in section
    assert "1 not imported<ul><li>1: import failed: ModuleNotFoundError: No module named &#39;triton&#39;" in section
    assert 'agree 3, <span class="bad">differ 1</span>' in section
    assert '<span class="bad">1</span><ul><li>test_k.py: test_b: the worker died (exit 3)</li></ul>' in section
    assert "v5e 25 of 30 (5 rejected), v6e 29 of 30 (1 rejected)" in section
    assert '<span class="ok">v5e 4 of 4</span>, <span class="bad">v6e 3 of 4</span>' in section
    assert "3 of 4 fired<ul><li>1: the mask&#39;s consumer aten.mul.Tensor has no op</li>" in section
    assert "0.25 kernels/s" in section and "entries 30%, bind 20%, run 10%, compile 40%" in section
    first, second = row(page, "real-kernel-0"), row(page, "real-kernel-1")  # fired first, though listed second
    assert "jagged_proj" in first and "<td>yes</td>" in first and "add_one" in second and "<td>no</td>" in second
    assert "test_k.py<br><code>TestK.test_jagged</code>" in first and "/src/helion" not in first.split("title=")[0]
    assert '<td class="bad" title="on vs off: agree; on vs off, poisoned: NaN in 3 of 8">differ</td>' in first
    assert '">on rejected</td>' in first and 'title="off: 120 bundles; on: Invalid vector type"' in first
    assert '">compiled both</td>' in first and '">compiled</td>' in second  # the pass changed nothing: one kernel
    assert ">costs more (v6e)</td>" in first and '<td class="bad">helion-mismatch</td>' in first
    assert "<td>&mdash;</td>" in second and '<td class="ok">pass</td>' in second
    (details,) = section.split("<details")[1:]  # the fired kernel's only
    assert 'id="real-kernel-diff-0"' in details and "2 lines removed, 2 added" in details
    assert '<span class="head">--- pass off\n</span><span class="head">+++ pass on\n</span>' in details
    assert '<span class="del">-    x = jnp.where(mask, x_ref[...], 0)\n</span>' in details
    assert '<span class="add">+    x = x_ref[...]\n</span>' in details
    assert "     y = x &lt; 1.0 and x &gt; -1.0\n" in details  # context: escaped, unmarked
    assert "Not a case: the mask&#39;s consumer aten.mul.Tensor has no op." in details
    assert "<b>helion-mismatch</b> (run, helion-on): poison leaks" in details and "mask of b0 deferred" in details
    skipped = section[section.index('id="real-kernels-skipped"') :]
    assert "<li><b>1</b> no entry of its file calls it: <code>unused_kernel</code> (test_k.py)</li>" in skipped
    findings = section[section.index('id="real-kernel-findings"') :]
    assert '<a href="findings/helion-mismatch-jagged_proj-1a2b3c4d">' in findings
    assert '<a href="findings/helion-mismatch-jagged_proj-1a2b3c4d/pass.diff">pass.diff</a>' in findings
    assert 'id="missing"' not in page  # its finding's directory has no verdict.json, and needs none
    assert 'id="findings"' not in page and 'id="coverage' not in page  # no fuzzing sections to say "none" in


def test_a_malformed_kernels_line_is_said_at_the_top_and_the_rest_renders(tmp_path: Path) -> None:
    out = corpus_run(tmp_path)
    with (out / "kernels.jsonl").open("a") as f:
        f.write('{"event": "kernel", "file": "/x.py", "kern\n[1, 2]\n')  # a run killed mid-line; not an object
    page = write_report(out).read_text()
    missing = page[page.index('id="missing"') : page.index("</div>")]
    assert "the real kernels: kernels.jsonl line 4 cannot be read" in missing and "line 5 cannot be read" in missing
    assert "jagged_proj" in row(page, "real-kernel-0") and "add_one" in row(page, "real-kernel-1")
    (out / "kernels.jsonl").unlink()
    page = write_report(out).read_text()
    assert "kernels.jsonl is not there (the counts are from summary.json)" in page
    assert "<th>kernels found</th><td>40</td>" in page and 'id="real-kernel-calls"' not in page


def test_a_fuzzing_runs_example_database_is_no_real_kernels_section(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text(json.dumps({"seed": 2, "examples": "/runs/examples", "findings": []}))
    page = write_report(tmp_path).read_text()
    assert "real-kernels" not in page and "<td>/runs/examples, None</td>" in page and 'id="no-findings"' in page


def test_an_older_runs_corpus_location_is_no_real_kernels_section_either(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text(json.dumps({"seed": 2, "corpus": "/runs/corpus", "findings": []}))
    assert "real-kernels" not in write_report(tmp_path).read_text()


def test_the_browser_shows_the_real_kernels_with_the_passs_lines_marked(tmp_path: Path, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    page = write_report(corpus_run(tmp_path))
    assert open_page(browser, page) == [page.as_uri()]
    section = browser.find_element(By.ID, "real-kernels")
    assert section.is_displayed() and section.find_element(By.TAG_NAME, "h2").text == "Real kernels"
    rows = section.find_elements(By.CSS_SELECTOR, "#real-kernel-calls tr.real-kernel")
    assert [r.text.split()[0] for r in rows] == ["jagged_proj", "add_one"]
    removed, added = (section.find_element(By.CSS_SELECTOR, f"pre.diff span.{c}") for c in ("del", "add"))
    assert removed.is_displayed() and added.is_displayed()  # the first fired kernel's diff is open
    assert removed.value_of_css_property("background-color") != added.value_of_css_property("background-color")

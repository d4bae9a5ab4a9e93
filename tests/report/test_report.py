"""The morning report, rendered in a real browser: headless Chromium (Debian's ``chromium`` and
its ``chromedriver``, which ``.ci/run`` installs) driven by Selenium. The page of a real short
run (a mutant's finding, a gate audit) has every finding's row with working relative links, its
kernels side by side, charts that are SVGs with data in them, and it made no network request. A
run that left little behind (no findings, no ``gate.jsonl``, an unreadable ``verdict.json``, no
``summary.json``) renders with what exists and says what is missing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest

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

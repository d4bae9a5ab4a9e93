"""The morning report's size and speed (issue 15's numbers), for the report of a finished run.

    python bench/report.py DIR [--loads 5]

Writes ``DIR/report.html`` three times with ``fuzzpass report DIR`` (wall-clock, a fresh
process each: what a CI step pays), prints its size, then opens it in headless Chromium
(Debian's ``chromium`` and ``chromedriver``, as the tests do) and prints the page's load time
(``loadEventEnd`` of its navigation) for each load. The figures in docs/report.md are of a
10-minute run:

    fuzzpass run --budget 10m --jobs 2 --seed 7 --mutant drop-remask --check-gate --tpu v5e,v6e \\
        --minimize-seconds 20 --out night
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--loads", type=int, default=5)
    args = parser.parse_args()

    writes = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "fuzzpass", "report", str(args.out)], check=True, capture_output=True)
        writes.append(time.perf_counter() - start)
    page = args.out / "report.html"
    print(f"size {page.stat().st_size / 1024:.0f} KiB; fuzzpass report: {', '.join(f'{s:.2f}' for s in writes)} s")

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        loads = []
        for _ in range(args.loads):
            driver.get(page.resolve().as_uri())
            loads.append(driver.execute_script("return performance.getEntriesByType('navigation')[0].loadEventEnd"))
    finally:
        driver.quit()
    print(f"Chromium load (loadEventEnd): {', '.join(f'{ms:.0f}' for ms in loads)} ms")


if __name__ == "__main__":
    main()

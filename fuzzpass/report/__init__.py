"""The morning report: one self-contained HTML page per run, the first thing a compiler engineer
opens after a night of fuzzing (``fuzzpass report DIR``; ``fuzzpass run`` writes
``DIR/report.html`` at its end).

It answers the questions ClusterFuzz, OSS-Fuzz and HypoFuzz answer with a page: what is new,
how bad, where is the repro, was the run healthy. It reads only what a run leaves on disk
(``summary.json``, ``findings/``, ``gate.jsonl``), so it also renders a run that was
interrupted, or copied out of CI without some of its files, and says what is missing.

One file: styles inline, charts drawn by matplotlib as inline SVG, no script, no font, no
request (a Content-Security-Policy says so to the browser), so it opens from a CI artifact on
any laptop. Links to a finding's files are relative to the page.

May import: the rooms below it (``repro``, ``perf``, ``judge``, ``backends``, the foundation)
and ``reference``; ``fuzz`` and ``cli`` import it.
"""

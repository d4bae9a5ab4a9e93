"""The table of ``docs/corpus.md``: every kernel call of a ``fuzzpass corpus`` run where Helion's
pass fired, as Markdown, from what the run left on disk.

Per call: the kernel and its file, the config it ran with, the pass's decision per load (the
loads whose mask it deferred, and the tiles), the numerics on poisoned padding (which
interpreter, or why not run), both kernels through the TPU compiler per generation, the gate
on static schedules (bundles of the eager and the deferred kernel) and the verdict. A cell says
``not run: ...`` where nothing was measured.

    python bench/corpus_table.py OUT [--generations v5e,v6e,tpu7x]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any


def decisions(e: dict[str, Any]) -> str:
    deferred = [f"`{d['source']}` ({', '.join(d['deferred'])})" for d in e["decisions"] if d["deferred"]]
    kept = sorted({d["source"] for d in e["decisions"] if not d["deferred"]})
    return f"defers {', '.join(deferred)}" + (f"; keeps {', '.join(f'`{k}`' for k in kept)}" if kept else "")


def numerics(e: dict[str, Any]) -> str:
    result = e.get("numerics_result", "?")
    n = e.get("numerics", {})
    if result.startswith("not run"):
        return result
    poison = n.get("poison", "")
    reference = "vs the file's reference" if "on vs reference" in n else "on vs off (no reference)"
    return f"{result} ({n.get('interpreter')}, {reference}; {poison})"


def compiled(e: dict[str, Any], gen: str) -> str:
    per_mode = e.get("compiles", {}).get(gen)
    if not per_mode:
        return "not asked"
    parts = []
    for mode in ("off", "on"):
        v = per_mode.get(mode)
        if v is None:
            continue
        if v["ok"] is None:
            parts.append(f"{mode}: not run")
        elif v["ok"]:
            parts.append(f"{mode} ok")
        else:
            parts.append(f"{mode} rejected ({short(v['message'])})")
    return ", ".join(parts)


def short(message: str) -> str:
    text = re.sub(r"\s+", " ", message)
    for marker in ("infer-vector-layout:", "apply-vector-layout:", "Mosaic failed to compile TPU kernel:"):
        if marker in text:
            text = text[text.index(marker) :]
            break
    return text[:70]


def gate(e: dict[str, Any], gens: list[str]) -> str:
    record = e.get("gate")
    if not record:
        return "not run (no schedule of both kernels)"
    parts = []
    for gen in gens:
        counts = record.get("counts", {}).get(gen) or {}
        eager, deferred = counts.get("eager"), counts.get("deferred")
        if eager is None or deferred is None:
            parts.append(f"{gen} not run")
        else:
            parts.append(f"{gen} {eager}->{deferred} ({deferred / eager - 1:+.0%})")
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--generations", default="v5e,v6e,tpu7x")
    args = parser.parse_args()
    gens = args.generations.split(",")
    events = [json.loads(line) for line in (args.out / "kernels.jsonl").read_text().splitlines()]
    fired = sorted(
        (e for e in events if e.get("status") == "checked" and e.get("fired")),
        key=lambda e: (Path(e["file"]).name, e["kernel"], e.get("config", "")),
    )
    head = ["kernel (file)", "config", "decision per load", "numerics on poisoned padding"]
    head += [f"{g} (off, on)" for g in gens] + ["gate, bundles eager->deferred", "verdict"]
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    for e in fired:
        config = e.get("config", "").removeprefix("Config(").removesuffix(")")
        row = [f"`{e['kernel']}` ({Path(e['file']).name})", config, decisions(e), numerics(e)]
        row += [compiled(e, g) for g in gens] + [gate(e, gens), e["verdict"]]
        print("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")


if __name__ == "__main__":
    main()

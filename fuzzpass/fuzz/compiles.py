"""What the TPU compiler made of a run's cases, per generation: ``summary.json``'s
``tpu_compile`` and the closing table of ``run --backend tpu-aot`` and ``--check-gate``.

A case counts as compiled on a generation when every variant compiled there: eager and
deferred (``tpu-aot``), and the forced one too where the gate was audited. Otherwise it counts
as rejected, under each distinct message it got. A case no kernel of which is compiled by
design (a float16 case, a structure ``reference.mosaic`` names) is ``unsupported``, apart.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from fuzzpass.backends.tpu_aot import TOPOLOGIES

UNSUPPORTED = "unsupported: "


class CompileTally:
    def __init__(self) -> None:
        self.compiled: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.unsupported: Counter[str] = Counter()
        self.messages: defaultdict[str, Counter[str]] = defaultdict(Counter)

    def add(self, report: dict[str, Any], generations: tuple[str, ...]) -> None:
        """Count one checked case's own kernels (its ``CheckResult.to_json()``: ``tpu-aot``'s
        variants and the gate audit's); ``generations``: those it was meant to be compiled for,
        to count an unsupported case under."""
        per_gen: defaultdict[str, set[str]] = defaultdict(set)  # generation -> rejection messages
        aot = (report.get("backends") or {}).get("tpu-aot")
        if isinstance(aot, str) and aot.startswith(UNSUPPORTED):
            for gen in generations:
                self.unsupported[gen] += 1
            return
        if isinstance(aot, dict):
            for gen, variants in aot.items():
                per_gen[gen] |= {s.removeprefix("rejected: ") for s in variants.values() if s != "compiled"}
        gate = report.get("gate") or {}
        for gen, counts in gate.get("counts", {}).items():
            rejected = gate.get("rejected", {}).get(gen, {})
            missing = [v for v, bundles in counts.items() if bundles is None]
            # a rejected eager kernel leaves the others uncompiled (``GateRecord.add``): its message alone
            messages = {rejected[v] for v in missing if v in rejected}
            per_gen[gen] |= messages or ({"rejected"} if missing else set())
        self._count(per_gen)

    def add_helion(self, report: dict[str, Any]) -> None:
        """Count one checked case's Helion kernels, pass on and off (``helion.tpu``)."""
        tpu = (report.get("helion") or {}).get("tpu")
        if isinstance(tpu, dict):
            self._count({gen: {r["message"] for r in modes.values() if not r["ok"]} for gen, modes in tpu.items()})

    def _count(self, per_gen: dict[str, set[str]]) -> None:
        """One case: compiled on each generation where nothing was rejected, else rejected
        under each distinct message."""
        for gen, messages in per_gen.items():
            if messages:
                self.rejected[gen] += 1
                self.messages[gen].update(messages)
            else:
                self.compiled[gen] += 1

    def to_json(self) -> dict[str, Any] | None:
        known = list(TOPOLOGIES)
        gens = sorted(set(self.compiled) | set(self.rejected) | set(self.unsupported), key=known.index)
        if not gens:
            return None
        return {
            gen: {
                "compiled": self.compiled[gen],
                "rejected": self.rejected[gen],
                "unsupported": self.unsupported[gen],
                "messages": dict(self.messages[gen].most_common()),
            }
            for gen in gens
        }

    def table(self) -> list[str]:
        """Per generation: cases compiled and rejected, the share compiled, the commonest
        rejections."""
        summary = self.to_json()
        if summary is None:
            return []
        lines = [f"{'TPU compiles':<14}{'compiled':>9}{'rejected':>9}{'share':>8}{'unsupported':>12}"]
        for gen, row in summary.items():
            judged = row["compiled"] + row["rejected"]
            share = f"{row['compiled'] / judged:.1%}" if judged else "-"
            lines.append(f"{gen:<14}{row['compiled']:>9}{row['rejected']:>9}{share:>8}{row['unsupported']:>12}")
            for message, n in list(row["messages"].items())[:3]:
                lines.append(f"  {n:>5} x {message[:100]}")
        return lines

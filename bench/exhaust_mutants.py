"""Which structure of at most K nodes kills each shipped mutant, and how far into the
enumeration it lies: ``python bench/exhaust_mutants.py [K]``.

``fuzzpass exhaust --max-nodes K --mutant M --stop-at-first`` finds the same structure, after
checking every structure before it (about a minute per thousand on a 2-core machine). Here a
structure is checked only where the mutant's decisions or deferred kernel differ from the
reference pass's: elsewhere the mutant compiles what the reference compiles, which
``fuzzpass exhaust --max-nodes K`` checked already. Prints one line per mutant: the index of the
first killing structure among all of them, its size, the finding, and the seconds spent.
"""

from __future__ import annotations

import sys
import time

from fuzzpass.backends.environment import prepare_environment, start_jax
from fuzzpass.fuzz.exhaust import Plan, cases, differs
from fuzzpass.judge.checked import Config, check
from fuzzpass.judge.mutants import MUTANTS
from generators.enumeration import by_size


def main(k: int) -> None:
    prepare_environment()
    start_jax()
    structures = by_size(k)
    print(f"{len(structures)} structures of at most {k} nodes", flush=True)
    for name, mutant in MUTANTS.items():
        start = time.perf_counter()
        found = None
        for index, s in enumerate(structures):
            if not differs(s, mutant):
                continue
            config = Config(policy="exhaust", backend=mutant.oracle, mutant=name)
            for case, expect in cases(Plan(k, (s,)), 0, 1, None):
                checked = check(case, config, expect)
                if checked.signature is not None and checked.signature.blames_pass:
                    found = (index, len(s.graph), str(checked.signature))
                    break
            if found:
                break
        took = time.perf_counter() - start
        if found:
            print(f"{name:<18} killed by structure {found[0]} ({found[1]} nodes): {found[2]}  [{took:.1f} s]")
        else:
            print(f"{name:<18} SURVIVES every structure of at most {k} nodes  [{took:.1f} s]", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4)

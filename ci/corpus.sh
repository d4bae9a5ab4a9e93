#!/usr/bin/env bash
# Helion's own kernels through `fuzzpass corpus`, as the nightly runs it on a TPU host.
#
#   ci/corpus.sh OUT [CORPUS]
#
# Checks out Helion's repository at the installed helion's version (tag v<version>, or the
# checkout HELION_SRC names), then runs `fuzzpass corpus` on its test/test_pallas.py,
# test/test_pallas_worklist.py (TPU-only: run in TPU interpret mode), test/test_examples.py
# and examples/: every kernel they call, recorded, then each call judged alone with Helion's
# pass on and off, in interpret mode on poisoned padding and deviceless for v5e, v6e and
# tpu7x, the gate audited where the pass fires. Results under OUT (summary.json,
# kernels.jsonl, findings/, report.html; calls/ lets a rerun under OUT judge only what is new,
# so a night's run interrupted goes on where it stopped: recordings are reused only under the
# same seed, so it is fixed, 0). The kernels where the pass fires and that a case can state
# become seeds of CORPUS (default fuzzpass-out/examples, the TPU run's example database;
# FUZZPASS_CORPUS, a Redis URL, when set), so the night's `fuzzpass run` mutates real
# structures. Workers: one per core, or FUZZPASS_CORPUS_JOBS.
# Exit: 0 no finding, 1 a finding of Helion's (each in OUT/findings/), 2 a usage error.
set -euo pipefail

out="${1:?usage: ci/corpus.sh OUT [CORPUS]}"
corpus="${2:-${FUZZPASS_CORPUS:-fuzzpass-out/examples}}"
jobs="${FUZZPASS_CORPUS_JOBS:-$(nproc)}"
version="$(python -c 'from importlib.metadata import version; print(version("helion"))')"
src="${HELION_SRC:-}"
if [ -z "$src" ]; then
  src="helion-src-$version"
  if [ ! -d "$src" ]; then
    git clone --quiet --depth 1 --branch "v$version" https://github.com/pytorch/helion "$src"
  fi
fi

status=0
fuzzpass corpus "$src/test/test_pallas.py" "$src/test/test_pallas_worklist.py" "$src/test/test_examples.py" \
  "$src/examples" --out "$out" --jobs "$jobs" \
  --tpu v5e,v6e,tpu7x --examples "$corpus" --seed 0 || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; then
  echo "ci/corpus.sh: fuzzpass corpus failed to run (exit $status)" >&2
fi
exit "$status"

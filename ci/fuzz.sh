#!/usr/bin/env bash
# One fuzz run as CI runs it, on the CPU (pull requests, .ci/run) or on a TPU host (nightly).
#
#   ci/fuzz.sh BACKEND BUDGET [OUT]
#
# BACKEND: interpret (CPU), tpu (a TPU host), helion (production Helion on the CPU, drawn
# with --policy helion, its kernels also compiled deviceless for v5e, v6e and tpu7x) or
# helion-gate (the same, with Helion's gate and the reference's audited on static schedules:
# --check-gate).
# BUDGET: as `fuzzpass run --budget` (60s, 4h).
# OUT keeps findings/ and corpus/ between runs (default fuzzpass-out): restore it before and
# save it after, and the next run replays what this one found. The seed is the date unless
# FUZZPASS_SEED is set; it is printed and stored in OUT/summary.json either way.
# Workers: fuzzpass run's default, one per core, or one per TPU chip with the tpu backend (a
# worker owns its chip: libtpu lets one process hold a chip). With FUZZPASS_RAY_ADDRESS set
# (a Ray cluster of TPU hosts: `ray start --head` on one, `ray start --address` on the others),
# the workers are Ray actors over every host of the cluster (`fuzzpass run --ray`). With
# FUZZPASS_CORPUS set to a Redis URL, the corpus is that server's, shared by every run that
# names it (`fuzzpass run --corpus`), instead of OUT/corpus.
# Exit: 0 nothing new found, 1 a new finding (its case, verdict and summary are under OUT),
# 2 a usage error.
set -euo pipefail

backend="${1:?usage: ci/fuzz.sh BACKEND BUDGET [OUT]}"
budget="${2:?usage: ci/fuzz.sh BACKEND BUDGET [OUT]}"
out="${3:-fuzzpass-out}"
seed="${FUZZPASS_SEED:-$(date -u +%Y%m%d)}"
policy="mixed"
extra=()
case "$backend" in
  helion) policy="helion"; extra=(--tpu v5e,v6e,tpu7x) ;;
  helion-gate) backend="helion"; policy="helion"; extra=(--tpu v5e,v6e,tpu7x --check-gate) ;;
esac
if [ -n "${FUZZPASS_RAY_ADDRESS:-}" ]; then extra+=(--ray "$FUZZPASS_RAY_ADDRESS"); fi
if [ -n "${FUZZPASS_CORPUS:-}" ]; then extra+=(--corpus "$FUZZPASS_CORPUS"); fi

status=0
fuzzpass run --backend "$backend" --policy "$policy" --budget "$budget" --seed "$seed" \
  --out "$out" --fail-on new "${extra[@]}" || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; then
  echo "ci/fuzz.sh: fuzzpass run failed to run (exit $status)" >&2
fi
exit "$status"

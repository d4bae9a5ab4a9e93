#!/usr/bin/env bash
# One fuzz run as CI runs it, on the CPU (pull requests, .ci/run) or on a TPU host (nightly).
#
#   ci/fuzz.sh BACKEND BUDGET [OUT]
#
# BACKEND: interpret (CPU), tpu (a TPU host), helion (production Helion on the CPU, drawn
# with --policy helion, its kernels also compiled deviceless for v5e, v6e and tpu7x) or
# helion-gate (the same, with Helion's gate and the reference's audited on static schedules:
# --check-gate) or helion-main (Helion's main branch, with the last release as the baseline:
# every case checked by both; a failure the release has not is a helion-regression, which is
# then bisected to the commit that made it before the morning report, OUT/report.html).
# helion-main reads FUZZPASS_HELION_REPO (a checkout of Helion to update, default OUT/helion-repo,
# cloned from FUZZPASS_HELION_URL, default https://github.com/pytorch/helion, on first use) and
# FUZZPASS_HELION_BASELINE (default: the newest release on pip's index), and bisects from
# FUZZPASS_HELION_GOOD (default: the baseline's tag, v<release>). FUZZPASS_TPU: the generations
# Helion's kernels compile for (default v5e,v6e,tpu7x; none: no TPU compiles).
# FUZZPASS_MINIMIZE_SECONDS: the time to minimize each new finding (default fuzzpass run's).
# BUDGET: as `fuzzpass run --budget` (60s, 4h).
# OUT keeps findings/ and examples/ between runs (default fuzzpass-out): restore it before and
# save it after, and the next run replays what this one found. The seed is the date unless
# FUZZPASS_SEED is set; it is printed and stored in OUT/summary.json either way.
# Workers: fuzzpass run's default, one per core, or one per TPU chip with the tpu backend (a
# worker owns its chip: libtpu lets one process hold a chip). With FUZZPASS_RAY_ADDRESS set
# (a Ray cluster of TPU hosts: `ray start --head` on one, `ray start --address` on the others),
# the workers are Ray actors over every host of the cluster (`fuzzpass run --ray`). With
# FUZZPASS_CORPUS set to a Redis URL, the example database is that server's, shared by every run
# that names it (`fuzzpass run --examples`), instead of OUT/examples.
# Exit: 0 nothing new found, 1 a new finding (its case, verdict and summary are under OUT),
# 2 a usage error.
set -euo pipefail

backend="${1:?usage: ci/fuzz.sh BACKEND BUDGET [OUT]}"
budget="${2:?usage: ci/fuzz.sh BACKEND BUDGET [OUT]}"
out="${3:-fuzzpass-out}"
seed="${FUZZPASS_SEED:-$(date -u +%Y%m%d)}"
policy="mixed"
tpu="${FUZZPASS_TPU:-v5e,v6e,tpu7x}"
extra=()
case "$backend" in
  helion) policy="helion"; extra=(--tpu "$tpu") ;;
  helion-gate) backend="helion"; policy="helion"; extra=(--tpu "$tpu" --check-gate) ;;
  helion-main)
    backend="helion"; policy="helion"
    repo="${FUZZPASS_HELION_REPO:-$out/helion-repo}"
    if [ ! -d "$repo/.git" ]; then
      git clone --quiet "${FUZZPASS_HELION_URL:-https://github.com/pytorch/helion}" "$repo"
    fi
    git -C "$repo" fetch --quiet --tags origin main
    git -C "$repo" checkout --quiet --detach FETCH_HEAD
    release="${FUZZPASS_HELION_BASELINE:-$(python -m pip index versions helion 2>/dev/null \
      | sed -n 's/^Available versions: \([^,]*\).*/\1/p')}"
    if [ -z "$release" ]; then echo "ci/fuzz.sh: no Helion release to compare main with" >&2; exit 2; fi
    extra=(--tpu "$tpu" --helion "$repo" --helion-baseline "$release")
    ;;
esac
if [ -n "${FUZZPASS_RAY_ADDRESS:-}" ]; then extra+=(--ray "$FUZZPASS_RAY_ADDRESS"); fi
if [ -n "${FUZZPASS_CORPUS:-}" ]; then extra+=(--examples "$FUZZPASS_CORPUS"); fi
if [ -n "${FUZZPASS_MINIMIZE_SECONDS:-}" ]; then extra+=(--minimize-seconds "$FUZZPASS_MINIMIZE_SECONDS"); fi

status=0
fuzzpass run --backend "$backend" --policy "$policy" --budget "$budget" --seed "$seed" \
  --out "$out" --fail-on new "${extra[@]}" || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; then
  echo "ci/fuzz.sh: fuzzpass run failed to run (exit $status)" >&2
  exit "$status"
fi
if [ "${1}" = "helion-main" ]; then
  # every new regression bisected from the release's tag to main, before the morning report
  python - "$out/summary.json" <<'PY' | while read -r case; do
import json, sys
for f in json.load(open(sys.argv[1]))["findings"]:
    if f["kind"] == "helion-regression" and f["new"]:
        print(f["case"])
PY
    good="${FUZZPASS_HELION_GOOD:-v$release}"
    if git -C "$repo" rev-parse --quiet --verify "$good^{commit}" >/dev/null; then
      fuzzpass bisect "$case" --helion-repo "$repo" --good "$good" --bad HEAD --tpu "$tpu" || true
    else
      echo "ci/fuzz.sh: $case not bisected: $repo has no $good" >&2
    fi
  done
  fuzzpass report "$out" >/dev/null
fi
exit "$status"

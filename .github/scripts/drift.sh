#!/usr/bin/env bash
# Check for drift: plan with --detailed-exitcode, then open/update the drift issue (changes pending)
# or close it (no changes). Fails when the plan fails. Used by .github/workflows/drift.yml and the
# reusable action; the tests run it too.
#
# Environment: RECONCILE, CONFIG, OUT_DIR as in pr-plan.sh; GITHUB_* as set by GitHub Actions;
# AUTH0_*, GOODDATA_*: credentials read by `reconcile plan`.
set -uo pipefail

reconcile=${RECONCILE:-.venv/bin/reconcile}
config=${CONFIG:-desired-state/access.yaml}
out_dir=${OUT_DIR:-plan-output}
plan_md="$out_dir/plan.md"
plan_json="$out_dir/plan.json"
mkdir -p "$out_dir"

"$reconcile" plan --config "$config" --format markdown --out "$plan_json" --detailed-exitcode >"$plan_md"
plan_status=$?

if [[ $plan_status -ne 1 && -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
  "$reconcile" github summary --markdown "$plan_md" || exit 1
fi
"$reconcile" github drift --markdown "$plan_md" --json "$plan_json" --exit-code "$plan_status"

#!/usr/bin/env bash
# Plan a pull request: validate, plan, write the job summary, create or update the one plan comment.
# Used by .github/workflows/plan.yml and the reusable action; the tests run it too.
#
# Environment:
#   RECONCILE     the CLI (default .venv/bin/reconcile)
#   CONFIG        desired-state file (default desired-state/access.yaml)
#   OUT_DIR       where plan.md and plan.json are written (default plan-output)
#   PR_NUMBER     pull request to comment on; no comment without it
#   HEAD_SHA      commit being planned, shown to reviewers (optional)
#   HEAD_IS_FORK  "true" for a fork pull request: no secrets, so only explain that (default false)
#   GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL, GITHUB_STEP_SUMMARY: as set by GitHub Actions
#   AUTH0_*, GOODDATA_*: credentials read by `reconcile plan`
set -uo pipefail

reconcile=${RECONCILE:-.venv/bin/reconcile}
config=${CONFIG:-desired-state/access.yaml}
out_dir=${OUT_DIR:-plan-output}
plan_md="$out_dir/plan.md"
plan_json="$out_dir/plan.json"
commit_args=()
if [[ -n "${HEAD_SHA:-}" ]]; then
  commit_args=(--commit "$HEAD_SHA")
fi

comment() {
  if [[ -n "${PR_NUMBER:-}" ]]; then
    "$reconcile" github pr-comment --pr "$PR_NUMBER" "$@"
  else
    echo "PR_NUMBER not set: no pull request comment"
  fi
}

if [[ "${HEAD_IS_FORK:-false}" == "true" ]]; then
  comment --fork
  exit $?
fi

mkdir -p "$out_dir"

if ! "$reconcile" validate --config "$config"; then
  comment --failed ${commit_args[@]+"${commit_args[@]}"}
  exit 1
fi

"$reconcile" plan --config "$config" --format markdown --out "$plan_json" >"$plan_md"
plan_status=$?
if [[ $plan_status -ne 0 ]]; then
  echo "::error::reconcile plan failed (exit code $plan_status)"
  comment --failed ${commit_args[@]+"${commit_args[@]}"}
  exit 1
fi

if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
  "$reconcile" github summary --markdown "$plan_md" || exit 1
fi
comment --markdown "$plan_md" --json "$plan_json" ${commit_args[@]+"${commit_args[@]}"}

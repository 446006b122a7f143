#!/usr/bin/env bash
# Plan a pull request: validate, plan, write the job summary, create or update the one plan comment.
# Used by .github/workflows/plan.yml and the reusable action; the tests run it too.
#
# The workflow checks out GitHub's test merge of the pull request into its base branch
# (refs/pull/N/merge), so the plan is that of the merge, not of the head commit alone.
#
# Environment:
#   RECONCILE     the CLI (default .venv/bin/reconcile)
#   CONFIG        desired-state file (default desired-state/access.yaml)
#   OUT_DIR       where plan.md, plan.json and the logs of a failed step go (default plan-output)
#   PR_NUMBER     pull request to comment on; no comment without it
#   HEAD_SHA      head commit of the pull request, shown to reviewers (optional)
#   MERGE_SHA     the test merge commit that was checked out and planned (optional)
#   BASE_REF      the base branch it merges into (optional)
#   HEAD_IS_FORK  "true" for a fork pull request: no secrets, so only explain that (default false)
#   GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL, GITHUB_STEP_SUMMARY: as set by GitHub Actions
#   AUTH0_*, GOODDATA_*: credentials read by `reconcile plan`
set -uo pipefail

reconcile=${RECONCILE:-.venv/bin/reconcile}
config=${CONFIG:-desired-state/access.yaml}
out_dir=${OUT_DIR:-plan-output}
plan_md="$out_dir/plan.md"
plan_json="$out_dir/plan.json"
errors_log="$out_dir/errors.log"
where_args=()
if [[ -n "${HEAD_SHA:-}" ]]; then
  where_args+=(--commit "$HEAD_SHA")
fi
if [[ -n "${MERGE_SHA:-}" ]]; then
  where_args+=(--merge-commit "$MERGE_SHA")
fi
if [[ -n "${BASE_REF:-}" ]]; then
  where_args+=(--base "$BASE_REF")
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

# The errors go to the log as usual and, quoted, into the comment.
"$reconcile" validate --config "$config" 2>"$errors_log"
validate_status=$?
cat "$errors_log" >&2
if [[ $validate_status -ne 0 ]]; then
  comment --failed --errors "$errors_log" ${where_args[@]+"${where_args[@]}"}
  exit 1
fi

"$reconcile" plan --config "$config" --format markdown --out "$plan_json" >"$plan_md" 2>"$errors_log"
plan_status=$?
cat "$errors_log" >&2
if [[ $plan_status -ne 0 ]]; then
  echo "::error::reconcile plan failed (exit code $plan_status)"
  comment --failed --errors "$errors_log" ${where_args[@]+"${where_args[@]}"}
  exit 1
fi

if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
  "$reconcile" github summary --markdown "$plan_md" || exit 1
fi
comment --markdown "$plan_md" --json "$plan_json" ${where_args[@]+"${where_args[@]}"}

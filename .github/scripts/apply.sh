#!/usr/bin/env bash
# Apply exactly the plan reviewed on the pull request that COMMIT_SHA merged. Used by
# .github/workflows/apply.yml and the reusable action; the tests run it too.
#
#   1. plan now (plan.md, plan.json; the plan also goes to the job summary);
#   2. `reconcile github apply-check`: nothing to apply (fresh plan empty) -> exit 0; the fresh plan
#      is the reviewed one and no guard blocks it -> its checksum; otherwise refuse, saying which
#      input changed since the review (desired state, identity provider, live GoodData) or which
#      guard blocks, in the job summary and in a comment on the merged pull request;
#   3. `reconcile apply --checksum`, which plans again and refuses if anything moved since step 1;
#   4. `reconcile github apply-result`: applied or failed, on the pull request and in the summary.
# A commit not merged through a pull request is refused unless EXPLICIT_CHECKSUM is given.
#
# Environment:
#   RECONCILE, CONFIG as in pr-plan.sh
#   OUT_DIR            where plan.md and plan.json are written (default plan-output)
#   COMMIT_SHA         the commit being applied (GitHub Actions: github.sha)
#   EXPLICIT_CHECKSUM  checksum given by hand on a manual run (optional)
#   FORCE              "true" on a manual run that lifts the max_removals threshold (never the
#                      protected, lock-out or identity-provider guards); default false
#   BACKUP_DIR         where apply saves the live documents it replaces (default backups)
#   GITHUB_*, AUTH0_*, GOODDATA_*: as for pr-plan.sh
set -uo pipefail

reconcile=${RECONCILE:-.venv/bin/reconcile}
config=${CONFIG:-desired-state/access.yaml}
out_dir=${OUT_DIR:-plan-output}
plan_md="$out_dir/plan.md"
plan_json="$out_dir/plan.json"
sha=${COMMIT_SHA:?COMMIT_SHA is required}
explicit=${EXPLICIT_CHECKSUM:-}
force_args=()
if [[ "${FORCE:-false}" == "true" ]]; then
  force_args=(--force)
fi
result_args=()
if [[ -n "$explicit" ]]; then
  result_args=(--explicit)
fi
mkdir -p "$out_dir"

"$reconcile" plan --config "$config" --format markdown --out "$plan_json" >"$plan_md"
plan_status=$?
if [[ $plan_status -ne 0 ]]; then
  echo "::error::reconcile plan failed (exit code $plan_status); nothing was applied"
  "$reconcile" github apply-result --sha "$sha" --stage plan --exit-code "$plan_status" \
    ${result_args[@]+"${result_args[@]}"}
  exit 1
fi
if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
  "$reconcile" github summary --markdown "$plan_md" || exit 1
fi

checksum=$("$reconcile" github apply-check --sha "$sha" --plan "$plan_json" --explicit "$explicit" \
  ${force_args[@]+"${force_args[@]}"}) || exit 1
if [[ -z "$checksum" ]]; then
  exit 0 # nothing to apply
fi

echo "applying the plan with checksum $checksum"
"$reconcile" apply --config "$config" --yes --checksum "$checksum" ${force_args[@]+"${force_args[@]}"} \
  --backup-dir "${BACKUP_DIR:-backups}"
apply_status=$?
"$reconcile" github apply-result --sha "$sha" --exit-code "$apply_status" --checksum "$checksum" \
  ${result_args[@]+"${result_args[@]}"}
exit $apply_status

#!/usr/bin/env bash
# Apply exactly the plan reviewed on the pull request that COMMIT_SHA merged: look up the checksum
# recorded in its plan comment, then `reconcile apply --checksum`, which refuses when a fresh plan
# differs (GoodData, Auth0 or the desired state changed since the review: re-plan needed).
# A commit not merged through a pull request is refused unless EXPLICIT_CHECKSUM is given.
#
# Environment:
#   RECONCILE, CONFIG as in pr-plan.sh
#   COMMIT_SHA         the commit being applied (GitHub Actions: github.sha)
#   EXPLICIT_CHECKSUM  checksum given by hand on a manual run (optional)
#   BACKUP_DIR         where apply saves the live documents it replaces (default backups)
#   GITHUB_*, AUTH0_*, GOODDATA_*: as for pr-plan.sh
set -euo pipefail

reconcile=${RECONCILE:-.venv/bin/reconcile}
config=${CONFIG:-desired-state/access.yaml}

checksum=$("$reconcile" github reviewed-checksum --sha "${COMMIT_SHA:?COMMIT_SHA is required}" \
  --explicit "${EXPLICIT_CHECKSUM:-}")
echo "applying the plan with checksum $checksum"
"$reconcile" apply --config "$config" --yes --checksum "$checksum" --backup-dir "${BACKUP_DIR:-backups}"

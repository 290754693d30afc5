#!/usr/bin/env bash
# The CI journey of one environment, in two stages run on the same commit:
#
#   examples/ci/pipeline.sh plan    validate, plan --out plan.json, publish it for review
#   examples/ci/pipeline.sh apply   after approval: apply exactly plan.json
#
# Run from the project (the folder holding stacks/ and environments/). Settings, from
# the CI job's environment:
#   BANDUP_ENV     the environment to plan and apply (required)
#   BANDUP_INFRA   the bandup-infra binary (default: bandup-infra on PATH)
#   LOCK_TIMEOUT   how long apply waits for another command's lock (default: 10m)
# and the CI role's AWS credentials (examples/ci/ci-role-policy*.json).
#
# Artifacts: plan.json (what `apply` takes: publish it between the stages unchanged),
# plan.txt (what reviewers read), apply.jsonl (one JSON event per line).
set -euo pipefail
BIN="${BANDUP_INFRA:-bandup-infra}"
: "${BANDUP_ENV:?set BANDUP_ENV to the environment to plan and apply}"

case "${1:-}" in
  plan)
    # Bad input stops here, with file:line:col, before any AWS call.
    "$BIN" validate --env "$BANDUP_ENV"
    # Exit 0: nothing to change; 2: changes to review. Both are a successful plan.
    rc=0
    "$BIN" plan --env "$BANDUP_ENV" --out plan.json --detailed-exitcode > plan.txt || rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then exit "$rc"; fi
    cat plan.txt
    # Publish plan.json and plan.txt as the job's artifacts, and plan.txt where the
    # reviewers are (a pull-request comment, the approval action's summary).
    ;;
  apply)
    # The reviewed plan, as the approver saw it. `apply` refuses it (exit 1, nothing
    # changed) if the stack, the environment or any live resource it read has changed
    # since: then run the plan stage again.
    "$BIN" show plan.json > /dev/null
    "$BIN" apply plan.json --json --lock-timeout "${LOCK_TIMEOUT:-10m}" | tee apply.jsonl
    ;;
  *)
    echo "usage: $0 plan|apply" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# npm run demo: the local stack, provisioning, then a smoke pipeline (produce synthetic payment
# events to payments.events and read them back). Leaves the stack running; stop it with
# `npm run stack -- down`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# kafkajs 2.2.4 notices: its v2 partitioner change (we want the Java-compatible default) and a
# harmless negative setTimeout that Node >= 23 reports.
export KAFKAJS_NO_PARTITIONER_WARNING=1
export NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--disable-warning=TimeoutNegativeWarning"

bash scripts/stack.sh up
npm run --silent provision
npx tsx src/cli/demo-smoke.ts "$@"

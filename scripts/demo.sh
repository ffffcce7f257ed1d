#!/usr/bin/env bash
# npm run demo: the main job. Brings up the local stack, provisions, then runs src/cli/demo.ts:
# the API, two merchant and two user workers, synthetic traffic through the ingest API and a
# live summary until Ctrl-C (or --duration-s N). Leaves the stack running; stop it with
# `npm run stack -- down`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# kafkajs 2.2.4's notice about its v2 partitioner change (we want the Java-compatible default).
export KAFKAJS_NO_PARTITIONER_WARNING=1

bash scripts/stack.sh up
npm run --silent provision
npx tsx src/cli/demo.ts "$@"

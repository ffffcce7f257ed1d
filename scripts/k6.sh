#!/usr/bin/env bash
# k6, built from source with `go install` (no binary downloads): the pinned version goes to
# $STACK/bin/k6 once (3–8 minutes cold; seconds with Go's module and build caches warm), then
# every call runs it with the arguments given.
#
#   bash scripts/k6.sh version
#   bash scripts/k6.sh run -e BASE_URL=http://127.0.0.1:8080 -e API_KEY=… load-tests/k6-ingest.js
#
# Needs Go ≥ 1.24 and the Go module proxy. K6_VERSION overrides the pinned version.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STACK=${RISKSTREAM_STACK_DIR:-$ROOT/.stack}
VERSION=${K6_VERSION:-v1.4.2}
BIN=$STACK/bin
K6=$BIN/k6

installed() { [[ -x $K6 ]] && "$K6" version 2>/dev/null | grep -q "k6 $VERSION "; }

if ! installed; then
  command -v go >/dev/null || { echo "[k6] error: go is not on the PATH (needed to build k6 $VERSION)" >&2; exit 1; }
  mkdir -p "$BIN"
  echo "[k6] building k6 $VERSION with go install into $BIN (first time: minutes)" >&2
  started=$SECONDS
  # Outside the repository, so no go.mod or workspace of ours is in play; no cgo, static binary.
  (cd "$BIN" && CGO_ENABLED=0 GOBIN=$BIN GOFLAGS=-buildvcs=false GOWORK=off go install "go.k6.io/k6@$VERSION") >&2 ||
    { echo "[k6] error: go install go.k6.io/k6@$VERSION failed (see above)" >&2; exit 1; }
  installed || { echo "[k6] error: $K6 does not report version $VERSION" >&2; exit 1; }
  echo "[k6] built in $((SECONDS - started)) s" >&2
fi
exec "$K6" "$@"

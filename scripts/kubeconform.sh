#!/usr/bin/env bash
# Offline schema validation of deploy/k8s/*.yaml with kubeconform (strict: unknown fields and
# duplicate keys are errors). Needs Go, Python 3 with PyYAML and the Go module proxy, nothing else:
# kubeconform cannot fetch schemas here, so they are made from Go modules, once, under .stack/:
#
#   .stack/bin/kubeconform        built with go install (CGO_ENABLED=0)
#   .stack/kubeconform/<versions>/core/   Kubernetes' own kinds, from api/openapi-spec/swagger.json
#                                         of the k8s.io/kubernetes module
#   .stack/kubeconform/<versions>/crd/    KEDA's and the Prometheus Operator's CRDs, from their
#                                         modules (config/crd/bases, example/prometheus-operator-crd)
#
# converted by scripts/kubeconform-core-schemas.py and kubeconform's own openapi2jsonschema.py.
# Strimzi publishes no Go module, so its kinds (Kafka, KafkaNodePool, KafkaTopic) are skipped
# here; test/unit/deploy/k8s.test.ts checks their content instead.
#
#   bash scripts/kubeconform.sh [kubeconform flags, e.g. -output json]
#
# Idempotent: a second run only validates (well under a second). Exit code: kubeconform's.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

KUBECONFORM_VERSION=v0.8.0
K8S_VERSION=v1.36.3
KEDA_VERSION=v2.21.0
PROMETHEUS_OPERATOR_VERSION=v0.85.0
SKIP_KINDS=Kafka,KafkaNodePool,KafkaTopic

BIN=$ROOT/.stack/bin
SCHEMAS=$ROOT/.stack/kubeconform/k8s-$K8S_VERSION-keda-$KEDA_VERSION-prometheus-operator-$PROMETHEUS_OPERATOR_VERSION

die() { printf 'kubeconform.sh: %s\n' "$*" >&2; exit 2; }

# module_dir <module@version>: the module's directory in Go's module cache (downloaded if missing).
module_dir() {
  (cd "$ROOT/.stack" && GOWORK=off go mod download -json "$1") |
    python3 -c 'import json, sys; m = json.load(sys.stdin); sys.exit(m["Error"]) if "Error" in m else print(m["Dir"])'
}

build_kubeconform() {
  local stamp=$BIN/kubeconform.version
  [[ -x $BIN/kubeconform && $(cat "$stamp" 2>/dev/null) == "$KUBECONFORM_VERSION" ]] && return
  mkdir -p "$BIN"
  (cd "$ROOT/.stack" && CGO_ENABLED=0 GOBIN=$BIN GOFLAGS=-buildvcs=false GOWORK=off \
    go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION")
  echo "$KUBECONFORM_VERSION" >"$stamp"
}

build_schemas() {
  [[ -f $SCHEMAS/.complete ]] && return
  local kubeconform k8s keda promop tmp
  kubeconform=$(module_dir "github.com/yannh/kubeconform@$KUBECONFORM_VERSION")
  k8s=$(module_dir "k8s.io/kubernetes@$K8S_VERSION")
  keda=$(module_dir "github.com/kedacore/keda/v2@$KEDA_VERSION")
  promop=$(module_dir "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION")
  tmp=$SCHEMAS.tmp.$$
  rm -rf "$tmp"
  mkdir -p "$tmp/core" "$tmp/crd"
  python3 "$ROOT/scripts/kubeconform-core-schemas.py" "$kubeconform" "$k8s/api/openapi-spec/swagger.json" "$tmp/core"
  # kubeconform's converter writes into the current directory, one file per kind and version.
  (cd "$tmp/crd" && FILENAME_FORMAT='{kind}-{group}-{version}' python3 "$kubeconform/scripts/openapi2jsonschema.py" \
    "$keda"/config/crd/bases/keda.sh_*.yaml \
    "$promop"/example/prometheus-operator-crd/monitoring.coreos.com_*.yaml >/dev/null)
  printf 'kubeconform: %s CRD schemas (KEDA %s, Prometheus Operator %s)\n' \
    "$(find "$tmp/crd" -name '*.json' | wc -l)" "$KEDA_VERSION" "$PROMETHEUS_OPERATOR_VERSION"
  touch "$tmp/.complete"
  rm -rf "$SCHEMAS"
  mv "$tmp" "$SCHEMAS"
}

command -v go >/dev/null || die "needs Go (go install builds kubeconform)"
python3 -c 'import yaml' 2>/dev/null || die "needs Python 3 with PyYAML (kubeconform's openapi2jsonschema.py imports it)"
mkdir -p "$ROOT/.stack"
build_kubeconform >&2
build_schemas >&2

exec "$BIN/kubeconform" -strict -summary -skip "$SKIP_KINDS" \
  -schema-location "$SCHEMAS/core/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
  -schema-location "$SCHEMAS/crd/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
  "$@" "$ROOT"/deploy/k8s/*.yaml

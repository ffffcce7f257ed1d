# shellcheck shell=bash
# Prometheus: 127.0.0.1:9090, config and rules from deploy/prometheus/, remote-write receiver on
# (k6 pushes load-test results to it), data under $DATA/prometheus.

prometheus_ports() { echo 9090; }
prometheus_stop_grace() { echo 20; }
prometheus_needs() { echo prometheus promtool; }

prometheus_start() {
  mkdir -p "$DATA/prometheus"
  promtool check config "$ROOT/deploy/prometheus/prometheus.yml" >>"$LOGS/prometheus.log" 2>&1 ||
    die "prometheus: deploy/prometheus/prometheus.yml is invalid (see $LOGS/prometheus.log)"
  launch prometheus "$LOGS/prometheus.log" prometheus "--config.file=$ROOT/deploy/prometheus/prometheus.yml" \
    "--storage.tsdb.path=$DATA/prometheus" --storage.tsdb.retention.time=7d \
    --web.listen-address=127.0.0.1:9090 --web.enable-remote-write-receiver --web.enable-lifecycle \
    "--log.level=info"
}

# Ready: /-/ready answers 200 (the TSDB is open and the config loaded).
prometheus_ready() {
  local status
  status=$(exec 3<>/dev/tcp/127.0.0.1/9090 && printf 'GET /-/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 &&
    head -n 1 <&3) 2>/dev/null || return 1
  [[ $status == *' 200 '* ]]
}

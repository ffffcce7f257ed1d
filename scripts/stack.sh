#!/usr/bin/env bash
# The local stack of real services: Kafka (KRaft), Cassandra, Redis, Prometheus, all on 127.0.0.1,
# everything (jars, data, logs, pids, generated configs) under .stack/.
#
#   npm run stack -- up [svc...]       install what is missing, start, wait until ready
#   npm run stack -- down [svc...]     stop our recorded processes (SIGTERM, then SIGKILL)
#   npm run stack -- status [svc...]   pid alive + service answering; exit 3 if any is not up
#   npm run stack -- logs [svc] [-f]   tail the log(s) in .stack/logs/
#   npm run stack -- reset             down + delete data, logs and configs (keeps the jars)
#   npm run stack -- pids              every live process of this checkout's stack, one a line
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/stack/lib.sh"
source "$here/stack/install.sh"
for svc in "${SERVICES[@]}"; do
  # shellcheck source=/dev/null
  source "$here/stack/$svc.sh"
done

# Start order: slowest first, and Kafka last because its one-time storage format runs in the
# foreground. Seconds each service may take to become ready.
START_ORDER=(cassandra redis prometheus kafka)
declare -A READY_TIMEOUT=([kafka]=120 [cassandra]=240 [redis]=30 [prometheus]=60)
# Per call of this script: background watcher pids, services found running, and when the wait
# for each service began (its launch, or this call for one already running).
declare -A WATCHERS=() ALREADY=() WAIT_FROM=()

log_size() { stat -c %s "$LOGS/$1.log" 2>/dev/null || echo 0; }
launch_offset() { cat "$RUN/$1.logoffset" 2>/dev/null || echo 0; }

# Installs and checks what the selected services need (apt packages, JDK 17, jars).
prepare() {
  local s needs bins=() jvm=()
  for s in "$@"; do
    needs=$(svc "$s" needs)
    # shellcheck disable=SC2206 # a space-separated list of binaries
    if [[ $needs == java ]]; then jvm+=("$s"); else bins+=($needs); fi
  done
  [[ ${#bins[@]} -gt 0 ]] && ensure_apt_packages "${bins[@]}"
  if [[ ${#jvm[@]} -gt 0 ]]; then
    require_java17
    for s in "${jvm[@]}"; do ensure_jars "$s"; done
  fi
  mkdir -p "$DATA" "$LOGS" "$RUN" "$CONF" "$TMP"
}

# Starts service $1 unless it already runs. Fails if its port is held by another process.
start_one() {
  local s=$1 pid port
  if pid=$(live_pid "$s"); then
    ALREADY[$s]=1
    WAIT_FROM[$s]=$(now)
    watch_ready "$s"
    return 0
  fi
  [[ -n $(recorded_pid "$s") ]] && say "$s: recorded pid $(recorded_pid "$s") is gone, restarting"
  for port in $(svc "$s" ports); do
    port_open "$port" || continue
    die "$s: port $port is already in use by: $(port_owner "$port" || true) (another stack or a packaged daemon?)"
  done
  log_size "$s" >"$RUN/$s.logoffset"
  now >"$RUN/$s.started"
  WAIT_FROM[$s]=$(cat "$RUN/$s.started")
  svc "$s" start
  watch_ready "$s"
}

# Polls service $1 in the background from the moment it is launched (or found running) and
# writes the time it became ready to $RUN/$1.ready, so each service's start-up time is measured
# on its own clock while the others start.
watch_ready() {
  local s=$1 pid from
  pid=$(live_pid "$s") || return 0
  from=$(launch_offset "$s")
  rm -f "$RUN/$s.ready"
  (
    while is_ours "$pid"; do
      if svc "$s" ready "$from"; then
        now >"$RUN/$s.ready"
        exit 0
      fi
      sleep 0.25
    done
  ) &
  WATCHERS[$s]=$!
}

# Waits until every service started (or found) by start_one is ready; a service that dies or
# times out is stopped and reported.
wait_ready() {
  local pending=("$@") failed=() left s pid t0
  while [[ ${#pending[@]} -gt 0 ]]; do
    left=()
    for s in "${pending[@]}"; do
      t0=$(cat "$RUN/$s.started" 2>/dev/null || now)
      if [[ -s $RUN/$s.ready && -n ${ALREADY[$s]:-} ]]; then
        say "$s: already running (pid $(recorded_pid "$s"))"
      elif [[ -s $RUN/$s.ready ]]; then
        say "$s: ready in $(awk -v a="$t0" -v b="$(cat "$RUN/$s.ready")" 'BEGIN { printf "%.1f", b - a }')s" \
          "(pid $(recorded_pid "$s"))"
      elif ! pid=$(live_pid "$s"); then
        warn "$s: process exited before it was ready"
        show_logs "$s"
        failed+=("$s")
      elif awk -v e="$(elapsed "${WAIT_FROM[$s]}")" -v t="${READY_TIMEOUT[$s]}" 'BEGIN { exit !(e > t) }'; then
        warn "$s: not ready after ${READY_TIMEOUT[$s]}s; stopping it. Log: $LOGS/$s.log"
        show_logs "$s"
        kill "${WATCHERS[$s]}" 2>/dev/null || true
        terminate "$pid" "$(svc "$s" stop_grace)" "$s"
        failed+=("$s")
      else
        left+=("$s")
      fi
    done
    pending=("${left[@]}")
    [[ ${#pending[@]} -gt 0 ]] && sleep 0.2
  done
  [[ ${#failed[@]} -eq 0 ]] || die "failed to start: ${failed[*]}"
}

cmd_up() {
  local svcs s t0 ordered=()
  select_services "$@"
  svcs=("${SELECTED[@]}")
  t0=$(now)
  prepare "${svcs[@]}"
  for s in "${START_ORDER[@]}"; do [[ " ${svcs[*]} " == *" $s "* ]] && ordered+=("$s"); done
  for s in "${ordered[@]}"; do start_one "$s"; done
  wait_ready "${svcs[@]}"
  say "up: ${svcs[*]} in $(elapsed "$t0")s"
}

cmd_down() {
  local svcs s pid stray
  select_services "$@"
  svcs=("${SELECTED[@]}")
  for s in "${svcs[@]}"; do
    if pid=$(live_pid "$s"); then
      say "$s: stopping pid $pid"
      terminate "$pid" "$(svc "$s" stop_grace)" "$s" &
    fi
  done
  wait
  for s in "${svcs[@]}"; do rm -f "$(pid_file "$s")" "$RUN/$s".{logoffset,started,ready}; done
  if [[ $# -eq 0 ]]; then
    for stray in $(our_pids); do
      warn "stopping stray process of this stack: $stray $(cmdline_of "$stray" | cut -c1-120)"
      terminate "$stray" 20 stray
    done
  fi
  say "down: ${svcs[*]}"
}

cmd_status() {
  local svcs s pid state rc=0
  select_services "$@"
  svcs=("${SELECTED[@]}")
  printf '%-11s %-12s %-8s %-6s %s\n' SERVICE STATE PID PORT LOG
  for s in "${svcs[@]}"; do
    pid=$(live_pid "$s") || pid=""
    if [[ -z $pid ]]; then
      state=down
    elif svc "$s" ready "$(launch_offset "$s")"; then
      state=up
    else
      state=unhealthy
    fi
    [[ $state == up ]] || rc=3
    printf '%-11s %-12s %-8s %-6s %s\n' "$s" "$state" "${pid:--}" "$(svc "$s" ports | cut -d' ' -f1)" "$LOGS/$s.log"
  done
  return "$rc"
}

cmd_logs() {
  local follow=0 svcs=() files=() a s
  for a in "$@"; do if [[ $a == -f ]]; then follow=1; else svcs+=("$a"); fi; done
  select_services "${svcs[@]}"
  svcs=("${SELECTED[@]}")
  if ((follow)); then
    for s in "${svcs[@]}"; do files+=("$LOGS/$s.log"); done
    exec tail -F "${files[@]}"
  fi
  for s in "${svcs[@]}"; do
    printf '==> %s <==\n' "$LOGS/$s.log"
    tail -n "$([[ ${#svcs[@]} -eq 1 ]] && echo 200 || echo 20)" "$LOGS/$s.log" 2>/dev/null || echo '(no log yet)'
  done
}

cmd_reset() {
  cmd_down
  rm -rf "$DATA" "$LOGS" "$RUN" "$CONF" "$TMP"
  say "reset: deleted data, logs and configs under $STACK (jars kept)"
}

main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    logs) cmd_logs "$@" ;;
    reset) cmd_reset ;;
    pids) our_pids ;;
    *)
      sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
      [[ -z $cmd || $cmd == help || $cmd == -h ]] || exit 2
      ;;
  esac
}

main "$@"

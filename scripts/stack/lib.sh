# shellcheck shell=bash
# Shared helpers of scripts/stack.sh: paths, output, process identity, ports, start and stop.
#
# Invariant: a process is "ours" only if its pid was recorded under $RUN (or it is a service
# binary) AND its command line names this checkout's $STACK directory. Nothing else is ever
# signalled, so two checkouts (e.g. a CI clone) never touch each other's services.

# shellcheck disable=SC2034 # paths used by the files that source this one
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STACK=${RISKSTREAM_STACK_DIR:-$ROOT/.stack}
JARS=$STACK/jars
DATA=$STACK/data
LOGS=$STACK/logs
RUN=$STACK/run
CONF=$STACK/conf
TMP=$STACK/tmp
SERVICES=(kafka cassandra redis prometheus)
# Executables our services run as; used to find strays whose pid file was lost.
# (Debian's redis-server is a symlink to redis-check-rdb, which /proc/<pid>/exe shows.)
SERVICE_EXES='java|redis-server|redis-check-rdb|prometheus'

say() { printf '[stack] %s\n' "$*"; }
warn() { printf '[stack] %s\n' "$*" >&2; }
die() {
  warn "error: $*"
  exit 1
}

now() { printf '%s' "$EPOCHREALTIME"; }
# Seconds since $1 (an EPOCHREALTIME value), one decimal.
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

is_service() {
  local s
  for s in "${SERVICES[@]}"; do [[ $s == "$1" ]] && return 0; done
  return 1
}

# Sets SELECTED to the requested services in stack order (all when none given); dies on an
# unknown name. Runs in the caller's shell (not in $(...)), so `die` stops the script.
select_services() {
  local s
  for s in "$@"; do is_service "$s" || die "unknown service '$s' (known: ${SERVICES[*]})"; done
  SELECTED=()
  for s in "${SERVICES[@]}"; do [[ $# -eq 0 || " $* " == *" $s "* ]] && SELECTED+=("$s"); done
  return 0
}

# svc <service> <fn> [args]: calls the service's hook <service>_<fn> (scripts/stack/<service>.sh).
svc() { "$1_$2" "${@:3}"; }

cmdline_of() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null; }

# True if pid is alive (not a zombie) and its command line names our $STACK directory.
is_ours() {
  local pid=$1 state
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z && $state != X ]] || return 1
  [[ $(cmdline_of "$pid") == *"$STACK/"* ]]
}

pid_file() { printf '%s/%s.pid' "$RUN" "$1"; }
recorded_pid() { cat "$(pid_file "$1")" 2>/dev/null || true; }

# Echoes the live pid of service $1, or fails.
live_pid() {
  local pid
  pid=$(recorded_pid "$1")
  is_ours "$pid" || return 1
  printf '%s' "$pid"
}

# Every live process of this checkout's stack: recorded pids plus strays (service binaries
# whose command line names $STACK, e.g. left behind after a lost pid file).
our_pids() {
  local p exe
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    exe=$(readlink "/proc/$p/exe" 2>/dev/null) || continue
    [[ ${exe##*/} =~ ^($SERVICE_EXES)$ ]] || continue
    is_ours "$p" && printf '%s\n' "$p"
  done
  return 0
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# True if file $1 contains text $3 after byte offset $2. (grep -c reads all its input: an early
# exit of grep -q would SIGPIPE tail and fail the pipeline under pipefail.)
logged_since() { [[ $(tail -c "+$(($2 + 1))" "$1" 2>/dev/null | grep -cF -- "$3") -gt 0 ]]; }

# Pid of the process listening on port $1, if ss shows it.
port_pid() { ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2; }

# Who listens on 127.0.0.1 or any address at port $1 (for error messages).
port_owner() { ss -Hltnp "sport = :$1" 2>/dev/null | awk '{ print $4, $6 }' | head -n 3; }

# Tail of a service's log files, for failure reports.
show_logs() {
  local svc=$1 lines=${2:-40} f
  for f in "$LOGS/$svc.log" "$LOGS/$svc.out"; do
    [[ -s $f ]] || continue
    warn "---- last $lines lines of $f ----"
    tail -n "$lines" "$f" >&2
  done
}

# Starts "$@" detached (own session, stdin closed, stdout+stderr appended to file $2) and
# records its pid as service $1's. setsid without -f does not fork here (a background job of a non-interactive
# shell is no group leader), so $! is the service's own pid; is_ours confirms it below.
launch() {
  local svc=$1 out=$2 pid
  shift 2
  mkdir -p "$RUN" "$LOGS"
  setsid "$@" >>"$out" 2>&1 </dev/null &
  pid=$!
  printf '%s\n' "$pid" >"$(pid_file "$svc")"
  sleep 0.2
  is_ours "$pid" || {
    show_logs "$svc"
    die "$svc exited at once (pid $pid); see $out"
  }
}

# SIGTERM, wait up to $2 seconds, then SIGKILL. Returns once the process is gone.
terminate() {
  local pid=$1 grace=$2 name=$3 deadline
  is_ours "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + grace))
  while is_ours "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
  if is_ours "$pid"; then
    warn "$name (pid $pid) ignored SIGTERM for ${grace}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while is_ours "$pid"; do sleep 0.1; done
  fi
}

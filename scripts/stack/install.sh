# shellcheck shell=bash
# Installs what the stack needs when it is missing: JDK 17 check, Debian packages (redis-server,
# prometheus) and the JVM services' jars (resolved by Maven from scripts/jars/<svc>/pom.xml).

JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java

# Kafka 4.x and Cassandra 5.0 both run on Java 17; Cassandra 5.0 refuses newer majors.
require_java17() {
  local version major
  command -v "$JAVA" >/dev/null || die "java not found (need JDK 17 on PATH or JAVA_HOME)"
  version=$("$JAVA" -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ { print $2 }')
  major=${version%%.*}
  [[ $major == 17 ]] || die "need Java 17, '$JAVA' is Java ${version:-unknown}; set JAVA_HOME to a JDK 17"
}

# apt packages providing each binary we run.
apt_package_for() {
  case $1 in
    redis-server | redis-cli) echo redis-server ;;
    prometheus | promtool) echo prometheus ;;
  esac
}

ensure_apt_packages() {
  local bin missing=() pkgs=()
  for bin in "$@"; do command -v "$bin" >/dev/null || missing+=("$(apt_package_for "$bin")"); done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
  [[ $(id -u) -eq 0 ]] || die "missing ${pkgs[*]}: run as root once (apt-get install) or install them"
  say "installing ${pkgs[*]} (apt-get)"
  with_services_blocked apt_install "${pkgs[*]}"
  stop_package_daemons
}

apt_install() {
  apt-get update -qq
  # shellcheck disable=SC2086 # $1 is a space-separated package list
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $1 >/dev/null
}

# Runs "$@" with a policy-rc.d that forbids starting services, so the packages' own daemons
# (redis on 127.0.0.1:6379, prometheus on 0.0.0.0:9090) never come up. Restores the original.
with_services_blocked() {
  local policy=/usr/sbin/policy-rc.d backup="" rc=0
  if [[ -e $policy ]]; then
    backup=$(mktemp)
    cp -p "$policy" "$backup"
  fi
  printf '#!/bin/sh\n# riskstream stack: no service starts during apt-get install\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  "$@" || rc=$?
  if [[ -n $backup ]]; then mv "$backup" "$policy"; else rm -f "$policy"; fi
  return "$rc"
}

# Belt and braces after install: stop and disable the packaged daemons if anything started them
# (they run as the packages' system users), then check that none holds our ports.
stop_package_daemons() {
  local unit port
  for unit in redis-server prometheus; do
    if [[ -d /run/systemd/system ]]; then
      systemctl disable --now "$unit" >/dev/null 2>&1 || true
    else
      if [[ -x /etc/init.d/$unit ]]; then /etc/init.d/"$unit" stop >/dev/null 2>&1 || true; fi
      update-rc.d "$unit" disable >/dev/null 2>&1 || true
    fi
  done
  for port in 6379 9090; do
    port_open "$port" || continue
    is_ours "$(port_pid "$port")" && continue
    die "after apt-get install, port $port is held by: $(port_owner "$port" || true); stop that daemon"
  done
}

# Copies the runtime classpath of scripts/jars/$1/pom.xml into $JARS/$1 unless a complete copy
# for the same POM is there. The marker holds the POM's checksum, so editing the POM re-resolves.
ensure_jars() {
  local svc=$1 pom="$ROOT/scripts/jars/$1/pom.xml" dir="$JARS/$1" sum t0
  sum=$(sha256sum "$pom" | cut -d' ' -f1)
  [[ -f $dir/.complete && $(cat "$dir/.complete") == "$sum" ]] && return 0
  command -v mvn >/dev/null || die "mvn not found: install Maven (apt-get install maven) to fetch $svc jars"
  t0=$(now)
  say "$svc: resolving jars with mvn (first time: a few minutes)"
  rm -rf "$dir" "$dir.partial"
  mkdir -p "$LOGS"
  mvn -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$dir.partial" >"$LOGS/mvn-$svc.log" 2>&1 || {
    tail -n 30 "$LOGS/mvn-$svc.log" >&2
    die "mvn could not resolve $pom (full output: $LOGS/mvn-$svc.log)"
  }
  mv "$dir.partial" "$dir"
  printf '%s\n' "$sum" >"$dir/.complete"
  say "$svc: $(find "$dir" -name '*.jar' | wc -l) jars in $(elapsed "$t0")s"
}

classpath_of() { find "$JARS/$1" -maxdepth 1 -name '*.jar' | sort | paste -sd:; }

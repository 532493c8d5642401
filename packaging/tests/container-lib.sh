# Shared by the real-systemd tests (packaging/tests/systemd-test.sh, puppet/tests/apply-test.sh):
# bookkeeping, timing and a Debian rootfs booted with systemd-nspawn. Sourced, not run. The caller
# sets `scale` (timeout multiplier), `machine` and `work` (a scratch directory) before using it.

passed=0
failed=0
declare -a summary=()
nspawn_pid=
leader=

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
ok() { passed=$((passed + 1)); summary+=("PASS $1"); log "PASS $1"; }
fail() { failed=$((failed + 1)); summary+=("FAIL $1"); log "FAIL $1"; }

require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 2; }
  done
}

# Runs a command inside the container (all its namespaces; root).
ct() { nsenter -t "$leader" -m -u -i -n -p -C -- "$@"; }
cts() { ct sh -c "$1"; }

# Waits until the shell condition $2 holds inside the container; $1 is the timeout in seconds
# (times `scale`). Deadlines are printed with full precision: awk's default %.6g would round the
# epoch seconds and make every wait time out at once.
wait_for() {
  local timeout end
  timeout=$(awk -v t="$1" -v s="$scale" 'BEGIN { printf "%.3f", t * s }')
  end=$(awk -v n="$(now)" -v t="$timeout" 'BEGIN { printf "%.3f", n + t }')
  while ! cts "$2" >/dev/null 2>&1; do
    if awk -v n="$(now)" -v e="$end" 'BEGIN { exit !(n > e) }'; then
      return 1
    fi
    sleep 0.1
  done
}

main_pid() { cts 'systemctl show -p MainPID --value envoy-agent'; }
# The Envoy processes (simulator JVMs) the service runs, as "pid pid ...".
envoy_pids() { cts "pgrep -u envoy-agent -f envoy-simulator.jar | sort -n | paste -sd ' '" || true; }
journal_since() { cts "journalctl -o cat -u envoy-agent --since=@$1"; }

# Boots rootfs $1 as `machine` (private network: only loopback; --volatile=overlay, so the rootfs
# is never changed) with $work/ci read-only at /ci, its console in $work/console.log; returns once
# systemd is running (or degraded). Sets nspawn_pid and leader.
boot_container() {
  local t
  log "== boot $machine"
  t=$(now)
  systemd-nspawn -D "$1" -M "$machine" --volatile=overlay --register=no --keep-unit -b \
    --console=read-only --private-network --bind-ro="$work/ci:/ci" >"$work/console.log" 2>&1 &
  nspawn_pid=$!
  for _ in $(seq 1 200); do
    leader=$(ps -o pid= --ppid "$nspawn_pid" 2>/dev/null | head -1 | tr -d " " || true)
    [[ -n $leader ]] && [[ $(cat "/proc/$leader/comm" 2>/dev/null) = systemd ]] && break
    leader=
    kill -0 "$nspawn_pid" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n $leader ]] || { echo "container did not start" >&2; cat "$work/console.log" >&2; exit 1; }
  wait_for 60 'state=$(systemctl is-system-running); [ "$state" = running ] || [ "$state" = degraded ]' \
    || { echo "container did not boot" >&2; exit 1; }
  boot_s=$(since "$t")
  log "booted in ${boot_s} s ($(cts 'systemctl is-system-running'))"
}

# For an EXIT trap: saves the journal as $ENVOY_AGENT_CI_LOGS/$1 when asked to, powers the container
# off (SIGKILL after 30 s), shows the console's end after a failure, removes $work.
stop_container() {
  local rc=$1 journal=$2
  if [[ -n ${ENVOY_AGENT_CI_LOGS:-} && -n $leader ]] && kill -0 "$leader" 2>/dev/null; then
    mkdir -p "$ENVOY_AGENT_CI_LOGS"
    ct journalctl -o short-precise --no-pager >"$ENVOY_AGENT_CI_LOGS/$journal" 2>&1 || true
    cp "$work/console.log" "$work"/run-*.log "$ENVOY_AGENT_CI_LOGS/" 2>/dev/null || true
  fi
  if [[ -n $nspawn_pid ]] && kill -0 "$nspawn_pid" 2>/dev/null; then
    kill -TERM "$nspawn_pid" 2>/dev/null || true # nspawn asks the container's systemd to power off
    for _ in $(seq 1 150); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$nspawn_pid" 2>/dev/null; then
      kill -KILL "$nspawn_pid" 2>/dev/null || true
    fi
    wait "$nspawn_pid" 2>/dev/null || true
  fi
  if [[ $rc -ne 0 || $failed -ne 0 ]] && [[ -f $work/console.log ]]; then
    echo "---- container console (last 40 lines) ----"
    tail -40 "$work/console.log" || true
  fi
  rm -rf --one-file-system "$work"
}

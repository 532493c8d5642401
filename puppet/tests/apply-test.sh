#!/usr/bin/env bash
# A real `puppet apply` of the envoy_agent module on the packaged agent under a real systemd: boots
# the packaging tests' Debian 12 rootfs plus Debian's puppet (tests/rootfs.sh) with systemd-nspawn
# (private network: only loopback), serves the .deb from a local apt repository, and checks:
#   1. the first run converges (--detailed-exitcodes 2): package from apt, agent.yaml, routes,
#      service started and serving through Envoy (the testkit's Envoy simulator);
#   2. the second run changes nothing (0);
#   3. a parameter change (routes and heartbeat) reloads the agent: exit 2, same MainPID, the agent
#      logs its SIGHUP reload, routes version 2 applied, Envoy pid unchanged; then 0 again;
#   4. an invalid routes file is refused by validate_cmd: the run fails, the file on disk and the
#      agent are unchanged;
#   5. a pinned package upgrade is left to the package's hand-over: new agent MainPID, same Envoy,
#      no reload from Puppet; then 0 again;
#   6. the inotify limits: /etc/sysctl.d/60-envoy-agent.conf written (runs 1 and 3), and on a
#      writable stand-in for /proc/sys/fs/inotify lower values are raised, larger ones kept.
# Prints PASS/FAIL per check and exits non-zero on any failure.
#
#   puppet/tests/apply-test.sh [path/to/envoy-agent_VERSION_all.deb]
#
# Needs root, systemd-container, debootstrap (for the base rootfs), dpkg-dev (dpkg-scanpackages)
# and the built simulator (testkit/target/envoy-simulator{,.jar}). ENVOY_AGENT_CI_TIME_SCALE
# multiplies every timeout; ENVOY_AGENT_CI_LOGS=DIR keeps the container's journal and the runs' output.
set -euo pipefail

here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
module=$(cd "$here/.." && pwd)
repo=$(cd "$module/.." && pwd)
deb=${1:-$(ls "$repo"/packaging/target/envoy-agent_*_all.deb 2>/dev/null | head -1)}
sim=$repo/testkit/target/envoy-simulator
scale=${ENVOY_AGENT_CI_TIME_SCALE:-1}
machine=envoy-agent-puppet-ci

# shellcheck source=../../packaging/tests/container-lib.sh
source "$repo/packaging/tests/container-lib.sh"

[[ $(id -u) = 0 ]] || { echo "run as root" >&2; exit 2; }
[[ -f $deb ]] || { echo "no .deb (build it: mvn -B -pl packaging -am package -Dmaven.test.skip=true)" >&2; exit 2; }
[[ -x $sim && -f $sim.jar ]] || { echo "no simulator: build testkit first" >&2; exit 2; }
require_tools systemd-nspawn nsenter dpkg-deb dpkg-scanpackages

work=$(mktemp -d /var/tmp/envoy-agent-puppet-ci.XXXXXX)
cleanup() {
  local rc=$?
  stop_container "$rc" puppet-journal.log
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

applied() { cts 'curl -s -m 5 127.0.0.1:9902/status' | grep -o '"appliedVersion" *: *"[^"]*"' | grep -o '"[^"]*"$' | tr -d '"'; }
# The agent's admin can be slow to answer on a loaded machine: ask a few times before concluding.
applied_is() {
  local i
  for i in $(seq 1 20); do
    [[ $(applied || true) = "$1" ]] && return 0
    sleep 0.5
  done
  return 1
}

# Runs puppet apply of /ci/manifests/$1.pp inside the container; sets rc to its exit code and
# last_log to its output ($work/run-<n>-$1.log).
runs=0
rc=
last_log=
apply() {
  runs=$((runs + 1))
  last_log=$work/run-$runs-$1.log
  rc=0
  cts "puppet apply --detailed-exitcodes --color=false --modulepath /ci/modules:/usr/share/puppet/modules \
    /ci/manifests/$1.pp" >"$last_log" 2>&1 || rc=$?
}
show() { grep -v 'Facter: ' "$1" | sed 's/^/    | /' | tail -"${2:-25}"; }

# ---------------------------------------------------------------------------------------------
log "== rootfs"
t=$(now)
rootfs=$("$here/rootfs.sh")
log "rootfs $rootfs ready in $(since "$t") s"

# /ci (read-only in the container): the module, the manifests, a flat apt repository with the
# package and a version-bumped copy (for the upgrade), and the simulator (test support only).
mkdir -p "$work/ci/modules/envoy_agent" "$work/ci/manifests" "$work/ci/repo" "$work/ci/sim" "$work/bump"
cp -a "$module"/{manifests,types,templates,data,hiera.yaml,metadata.json} "$work/ci/modules/envoy_agent/"
version=$(dpkg-deb -f "$deb" Version)
bumped="${version}+ci1"
cp "$deb" "$work/ci/repo/envoy-agent_${version}_all.deb"
dpkg-deb -R "$deb" "$work/bump/root"
sed -i "s/^Version: .*/Version: $bumped/" "$work/bump/root/DEBIAN/control"
dpkg-deb -Zgzip -z1 -b "$work/bump/root" "$work/ci/repo/envoy-agent_${bumped}_all.deb" >/dev/null
rm -rf "$work/bump"
(cd "$work/ci/repo" && dpkg-scanpackages -m . 2>/dev/null >Packages)
cp "$sim" "$sim.jar" "$work/ci/sim/"
cat >"$work/ci/simulator.conf" <<'EOF'
[Service]
Environment="ENVOY_SIM_JAVA_OPTS=-Djna.tmpdir=/var/cache/envoy-agent -Xmx64m"
EOF

routes() { # version, weight
  printf 'version: "%s"\nservices:\n  - name: hello\n    protocol: HTTP\n    local_port: 10080\n    endpoints:\n      - { address: 127.0.0.1, port: 8080, weight: %s }\n' "$1" "$2"
}
# The manifests also set inotify_max_user_instances to $instances (the first run: the module's default).
instances=
manifest() { # name, package version, routes version, heartbeat interval, [routes override]
  local content=${5:-$(routes "$3" "$3")}
  cat >"$work/ci/manifests/$1.pp" <<EOF
class { 'envoy_agent':
  package_ensure               => '$2',
  node_cluster                 => 'ci',
  node_zone                    => 'zone-a',
  routes_content               => @(ROUTES),
$(sed 's/^/    /' <<<"$content")
    | ROUTES
  envoy_binary                 => '/opt/envoy-sim/envoy-simulator',
  envoy_drain_time_s           => 2,
  envoy_parent_shutdown_time_s => 4,
  envoy_stop_timeout_s         => 5,
  restart_min_interval_ms      => 1000,
  heartbeat_interval_ms        => $4,
  local_services               => { 'hello' => { 'port' => 8080, 'check' => { 'http_path' => '/index.html' } } },
  ec2                          => 'off',
$([[ -n $instances ]] && echo "  inotify_max_user_instances   => $instances,")
}
EOF
}
manifest first "$version" 1 10000
instances=131072
manifest changed "$version" 2 20000
manifest invalid "$version" 3 20000 "$(printf 'version: "3"\nservices:\n  - name: Not A Name\n    protocol: HTTP\n    local_port: 10080\n')"
manifest upgraded "$bumped" 2 20000

boot_container "$rootfs"

# Test setup, not the module's job: the local apt repository as the only source, the simulator as
# Envoy (with its JNA drop-in), a backend on 127.0.0.1:8080.
cts 'rm -f /etc/apt/sources.list /etc/apt/sources.list.d/* \
  && echo "deb [trusted=yes] file:/ci/repo ./" >/etc/apt/sources.list.d/ci.list \
  && apt-get update -qq \
  && mkdir -p /opt/envoy-sim /srv/www /etc/systemd/system/envoy-agent.service.d \
  && cp /ci/sim/* /opt/envoy-sim/ && chmod 755 /opt/envoy-sim/envoy-simulator \
  && cp /ci/simulator.conf /etc/systemd/system/envoy-agent.service.d/ \
  && echo hello >/srv/www/index.html \
  && systemd-run -q --unit=ci-backend busybox httpd -f -p 127.0.0.1:8080 -h /srv/www' >"$work/setup.log" 2>&1 \
  || { cat "$work/setup.log"; fail "test setup"; exit 1; }
log "puppet $(cts 'puppet --version'), package $version (and $bumped) in the local repository"

# ---------------------------------------------------------------------------------------------
log "== 1. first run converges"
t=$(now)
apply first
first_s=$(since "$t")
installed=$(cts "dpkg-query -W -f '\${Version}' envoy-agent" || true)
serving=$(cts 'curl -s --max-time 3 127.0.0.1:10080/index.html' || true)
if [[ $rc = 2 && $installed = "$version" && $serving = hello ]] && cts 'systemctl is-active envoy-agent && systemctl is-enabled envoy-agent' >/dev/null \
   && applied_is 1; then
  ok "first run: exit 2 in ${first_s} s; envoy-agent $installed installed from apt, active, enabled, routes version 1 applied, serving through Envoy"
else
  fail "first run: exit $rc, version '$installed', serving '$serving', applied '$(applied || true)'"
  show "$last_log" 40
  cts 'journalctl -u envoy-agent --no-pager | tail -30' || true
  exit 1
fi
show "$last_log" 20
main1=$(main_pid)
envoy1=$(envoy_pids)
if cts 'envoy-agent validate --config /etc/envoy-agent/agent.yaml --routes /etc/envoy-agent/routes.yaml' >/dev/null \
   && cts 'grep -q "^ec2: \"off\"$" /etc/envoy-agent/agent.yaml'; then
  ok "the written agent.yaml and routes.yaml pass envoy-agent validate on the host"
else
  fail "the written agent.yaml and routes.yaml pass envoy-agent validate"
fi

# The inotify limits: the sysctl.d file with the module's defaults; the running values raised when
# /proc/sys is writable, else (systemd-nspawn mounts it read-only) the raise is skipped, not failed.
sysctl_conf=$(cts 'cat /etc/sysctl.d/60-envoy-agent.conf' || true)
raised_lines=$(grep -c 'Exec\[envoy_agent raise' "$last_log" || true)
read -r have_i have_w <<<"$(cts 'echo $(cat /proc/sys/fs/inotify/max_user_instances /proc/sys/fs/inotify/max_user_watches)')"
if cts 'test -w /proc/sys/fs/inotify/max_user_instances'; then
  proc_sys=writable
  (( have_i >= 65536 && have_w >= 1048576 )) && running_ok=1 || running_ok=0
else
  proc_sys=read-only
  [[ $raised_lines = 0 ]] && running_ok=1 || running_ok=0 # skipped, not failed
fi
have="$have_i/$have_w"
if grep -qx 'fs.inotify.max_user_instances = 65536' <<<"$sysctl_conf" && grep -qx 'fs.inotify.max_user_watches = 1048576' <<<"$sysctl_conf" \
   && [[ $(cts 'stat -c %a:%U /etc/sysctl.d/60-envoy-agent.conf') = 644:root && $running_ok = 1 ]]; then
  ok "first run: /etc/sysctl.d/60-envoy-agent.conf has fs.inotify.max_user_instances = 65536 and max_user_watches = 1048576; /proc/sys $proc_sys, running $have, $raised_lines raise exec lines"
else
  fail "first run: sysctl file '$sysctl_conf', /proc/sys $proc_sys, running $have, $raised_lines raise exec lines"
fi

log "== 2. second run changes nothing"
t=$(now)
apply first
if [[ $rc = 0 && $(main_pid) = "$main1" ]]; then
  ok "second run: exit 0 in $(since "$t") s, MainPID $main1 unchanged"
else
  fail "second run: exit $rc (want 0), MainPID $main1 -> $(main_pid)"
  show "$last_log"
fi

log "== 3. a parameter change reloads the agent"
mark=$(date +%s)
sleep 1
t=$(now)
apply changed
changed_s=$(since "$t")
wait_for 20 'curl -s 127.0.0.1:9902/status | grep -q "\"appliedVersion\" *: *\"2\""' || true
main2=$(main_pid)
envoy2=$(envoy_pids)
reloads=$(journal_since "$mark" | grep -c 'SIGHUP: reloaded' || true)
systemd_reloads=$(cts "journalctl -o cat --since=@$mark _PID=1" | grep -c 'Reloading envoy-agent\|Reloaded envoy-agent' || true)
restarts=$(cts "journalctl -o cat --since=@$mark _PID=1" | grep -c 'Stopping envoy-agent\|Starting envoy-agent' || true)
if [[ $rc = 2 && $main2 = "$main1" && $envoy2 = "$envoy1" && $reloads -ge 1 && $restarts = 0 ]] && applied_is 2 \
   && grep -q 'Service\[envoy-agent\]: Triggered .refresh. from' "$last_log" \
   && cts 'grep -q "interval_ms: 20000" /etc/envoy-agent/agent.yaml' \
   && cts 'grep -qx "fs.inotify.max_user_instances = 131072" /etc/sysctl.d/60-envoy-agent.conf'; then
  ok "parameter change: exit 2 in ${changed_s} s, sysctl file rewritten (131072), reloaded (agent: $reloads SIGHUP reload, systemd: $systemd_reloads reload lines, 0 stop/start), MainPID $main1 kept, Envoy pid $envoy1 kept, routes version 2 applied"
else
  fail "parameter change: exit $rc, MainPID $main1 -> $main2, Envoy $envoy1 -> $envoy2, reloads $reloads, stop/start $restarts, applied '$(applied || true)'"
  show "$last_log"
fi
show "$last_log" 8
apply changed
if [[ $rc = 0 && $(main_pid) = "$main1" ]]; then
  ok "changed parameters, run again: exit 0, MainPID $main1"
else
  fail "changed parameters, run again: exit $rc (want 0)"
  show "$last_log"
fi

log "== 4. an invalid routes file is refused by validate_cmd"
before=$(cts 'sha256sum </etc/envoy-agent/routes.yaml')
apply invalid
after=$(cts 'sha256sum </etc/envoy-agent/routes.yaml')
if (( (rc & 4) != 0 )) && [[ $before = "$after" && $(main_pid) = "$main1" ]] && applied_is 2 \
   && grep -q 'validate_cmd\|Execution of .*validate' "$last_log"; then
  ok "invalid routes: exit $rc (failures), routes.yaml unchanged, agent still on version 2 with MainPID $main1"
else
  fail "invalid routes: exit $rc, routes.yaml changed: $([[ $before = "$after" ]] && echo no || echo yes), MainPID $(main_pid)"
  show "$last_log"
fi
show "$last_log" 6

log "== 5. a pinned package upgrade is the package's own hand-over"
mark=$(date +%s)
sleep 1
t=$(now)
apply upgraded
upgrade_s=$(since "$t")
installed=$(cts "dpkg-query -W -f '\${Version}' envoy-agent" || true)
wait_for 30 'systemctl is-active envoy-agent' || true
main3=$(main_pid)
envoy3=$(envoy_pids)
reloads=$(journal_since "$mark" | grep -c 'SIGHUP: reloaded' || true)
if [[ $rc = 2 && $installed = "$bumped" && $main3 != "$main1" && $main3 != 0 && $envoy3 = "$envoy1" && $reloads = 0 ]] \
   && ! grep -q 'Service\[envoy-agent\]' "$last_log"; then
  ok "upgrade: exit 2 in ${upgrade_s} s, $version -> $installed, agent $main1 -> $main3 by the package, Envoy pid $envoy1 kept, no reload or restart from Puppet"
else
  fail "upgrade: exit $rc, version '$installed', MainPID $main1 -> $main3, Envoy $envoy1 -> $envoy3, reloads $reloads"
  show "$last_log"
fi
apply upgraded
if [[ $rc = 0 && $(main_pid) = "$main3" ]]; then
  ok "upgraded, run again: exit 0"
else
  fail "upgraded, run again: exit $rc (want 0)"
  show "$last_log"
fi

log "== 6. inotify limits: raised when lower, never lowered"
# On a writable stand-in for /proc/sys/fs/inotify: a tmpfs in a private mount namespace of this one
# puppet run, so neither the container's nor the host's limits change.
stand_in() { # instances watches: runs the last manifest there; prints "instances/watches rc" (its
  # output goes to $work/run-inotify-<instances>.log: this runs in a command substitution)
  cts "unshare -m sh -c 'mount -t tmpfs ci /proc/sys/fs/inotify && echo $1 >/proc/sys/fs/inotify/max_user_instances \
    && echo $2 >/proc/sys/fs/inotify/max_user_watches && rc=0 && { puppet apply --detailed-exitcodes --color=false \
    --modulepath /ci/modules:/usr/share/puppet/modules /ci/manifests/upgraded.pp >/run/ci-stand-in.log 2>&1 || rc=\$?; } \
    && echo \$(cat /proc/sys/fs/inotify/max_user_instances)/\$(cat /proc/sys/fs/inotify/max_user_watches) \$rc'"
  cts 'cat /run/ci-stand-in.log' >"$work/run-inotify-$1.log" 2>&1 || true
}
t=$(now)
low=$(stand_in 128 8192)
low_s=$(since "$t")
last_log=$work/run-inotify-128.log
low_execs=$(grep -c 'Exec\[envoy_agent raise .*executed successfully' "$last_log" || true)
high=$(stand_in 200000 2000000)
[[ $high = "200000/2000000 0" ]] || last_log=$work/run-inotify-200000.log
if [[ $low = "131072/1048576 2" && $low_execs = 2 && $high = "200000/2000000 0" && $(main_pid) = "$main3" ]]; then
  ok "inotify limits: 128/8192 raised to $low (exit 2, $low_execs execs, ${low_s} s); 200000/2000000 kept ($high: exit 0); agent untouched"
else
  fail "inotify limits: low '$low' ($low_execs execs), high '$high' (want '131072/1048576 2' and '200000/2000000 0')"
  show "$last_log"
fi

log "puppet apply: $passed passed, $failed failed"
[[ $failed = 0 ]]

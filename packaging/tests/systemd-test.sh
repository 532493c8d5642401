#!/usr/bin/env bash
# Real-systemd tests of the envoy-agent .deb: boots a Debian 12 rootfs with systemd-nspawn
# (private network: only loopback), installs the package, runs the Envoy simulator as Envoy, and
# proves the unit's behaviour (start only when LIVE, reload, upgrade without touching Envoy,
# kill -9, watchdog, stop, purge). Prints timings and request counts; exits non-zero on any failure.
#
#   packaging/tests/systemd-test.sh [path/to/envoy-agent_VERSION_all.deb]
#
# Needs root, debootstrap, systemd-container (systemd-nspawn), and the built simulator
# (testkit/target/envoy-simulator{,.jar}). The rootfs is cached (see rootfs.sh) and booted with
# --volatile=overlay, so it is never changed. ENVOY_AGENT_CI_TIME_SCALE multiplies every timeout;
# ENVOY_AGENT_CI_LOGS=DIR keeps the container's journal and console there.
set -euo pipefail

here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
deb=${1:-$(ls "$repo"/packaging/target/envoy-agent_*_all.deb 2>/dev/null | head -1)}
sim=$repo/testkit/target/envoy-simulator
scale=${ENVOY_AGENT_CI_TIME_SCALE:-1}
machine=envoy-agent-ci

# shellcheck source=container-lib.sh
source "$here/container-lib.sh"

[[ $(id -u) = 0 ]] || { echo "run as root" >&2; exit 2; }
[[ -f $deb ]] || { echo "no .deb (build it: mvn -B -pl packaging -am package)" >&2; exit 2; }
[[ -x $sim && -f $sim.jar ]] || { echo "no simulator: build testkit first" >&2; exit 2; }
require_tools systemd-nspawn nsenter dpkg-deb debootstrap

work=$(mktemp -d /var/tmp/envoy-agent-ci.XXXXXX)
cleanup() {
  local rc=$?
  stop_container "$rc" journal.log
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

envoy_epoch() { cts "curl -s 127.0.0.1:9901/server_info" | grep -o '"restart_epoch": *[0-9]*' | grep -o '[0-9]*$'; }

# ---------------------------------------------------------------------------------------------
log "== rootfs"
t=$(now)
rootfs=$("$here/rootfs.sh")
rootfs_s=$(since "$t")
log "rootfs $rootfs ready in ${rootfs_s} s"

# What the container gets, read-only under /ci: the package, a bumped copy for the upgrade, the
# simulator (test support, never packaged) and the test's agent.yaml and routes.
mkdir -p "$work/ci/sim" "$work/ci/etc" "$work/bump"
cp "$deb" "$work/ci/envoy-agent.deb"
cp "$repo/packaging/src/sysctl/60-envoy-agent.conf" "$work/ci/"
version=$(dpkg-deb -f "$deb" Version)
bumped="${version}+ci1"
t=$(now)
dpkg-deb -R "$deb" "$work/bump/root"
sed -i "s/^Version: .*/Version: $bumped/" "$work/bump/root/DEBIAN/control"
dpkg-deb -Zgzip -z1 -b "$work/bump/root" "$work/ci/envoy-agent-bumped.deb" >/dev/null
rm -rf "$work/bump"
log "bumped copy $version -> $bumped in $(since "$t") s"
cp "$sim" "$sim.jar" "$work/ci/sim/"
cat >"$work/ci/etc/agent.yaml" <<'EOF'
node:
  id: ci-host
  cluster: ci
  zone: zone-a
routes:
  file: routes.yaml
envoy:
  binary: /opt/envoy-sim/envoy-simulator
  admin_port: 9901
  drain_time_s: 2
  parent_shutdown_time_s: 4
  stop_timeout_s: 5
state_dir: /var/lib/envoy-agent
ec2: off
admin:
  listen: 127.0.0.1:9902
restart:
  min_interval_ms: 1000
EOF
cat >"$work/ci/etc/routes.yaml" <<'EOF'
version: "1"
services:
  - name: hello
    protocol: HTTP
    local_port: 10080
    endpoints:
      - { address: 127.0.0.1, port: 8080 }
EOF
cat >"$work/ci/etc/routes-2.yaml" <<'EOF'
version: "2"
services:
  - name: hello
    protocol: HTTP
    local_port: 10080
    endpoints:
      - { address: 127.0.0.1, port: 8080, weight: 5 }
EOF
# Test only: the simulator is a JVM with JNA too; keep its native library out of the state dir.
cat >"$work/ci/etc/simulator.conf" <<'EOF'
[Service]
Environment="ENVOY_SIM_JAVA_OPTS=-Djna.tmpdir=/var/cache/envoy-agent -Xmx64m"
EOF
# The request loop: one request a 50 ms through Envoy's listener, one "status" line each.
cat >"$work/ci/request-loop" <<'EOF'
#!/bin/sh
while :; do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 http://127.0.0.1:10080/index.html)
  echo "$code" >>/run/ci-requests.log
  sleep 0.05
done
EOF
chmod 755 "$work/ci/request-loop"

boot_container "$rootfs"

# ---------------------------------------------------------------------------------------------
log "== install"
t=$(now)
cts 'DEBIAN_FRONTEND=noninteractive dpkg -i /ci/envoy-agent.deb' >"$work/install.log" 2>&1 \
  || { cat "$work/install.log"; fail "dpkg -i"; exit 1; }
install_s=$(since "$t")
if cts 'getent passwd envoy-agent && getent group envoy-agent && systemctl is-enabled envoy-agent \
      && ! systemctl is-active envoy-agent && test -d /var/lib/envoy-agent -a -d /var/cache/envoy-agent \
      && [ "$(stat -c %U /var/lib/envoy-agent)" = envoy-agent ]' >/dev/null; then
  ok "install: user, group, directories, unit enabled and not started (${install_s} s)"
else
  fail "install: user, group, directories, unit enabled and not started"
fi
if cts 'envoy-agent validate --config /etc/envoy-agent/agent.yaml' >/dev/null; then
  ok "the shipped /etc/envoy-agent/agent.yaml validates"
else
  fail "the shipped /etc/envoy-agent/agent.yaml validates"
fi

# Inotify limits (issue #13): the package ships /usr/lib/sysctl.d/60-envoy-agent.conf and postinst
# raises the running values to it, never lowering them, or says in one line that it cannot (a
# read-only /proc/sys: systemd-nspawn mounts it read-only, and fs.inotify.* are the host's anyway).
want_i=$(sed -n 's/^fs\.inotify\.max_user_instances = //p' "$repo/packaging/src/sysctl/60-envoy-agent.conf")
want_w=$(sed -n 's/^fs\.inotify\.max_user_watches = //p' "$repo/packaging/src/sysctl/60-envoy-agent.conf")
if cts 'cmp -s /usr/lib/sysctl.d/60-envoy-agent.conf /ci/60-envoy-agent.conf && [ "$(stat -c %a:%U /usr/lib/sysctl.d/60-envoy-agent.conf)" = 644:root ] \
      && /lib/systemd/systemd-sysctl --help >/dev/null && systemd-analyze cat-config sysctl.d | grep -q "^# /usr/lib/sysctl.d/60-envoy-agent.conf$"'; then
  ok "sysctl: /usr/lib/sysctl.d/60-envoy-agent.conf installed (fs.inotify.max_user_instances = $want_i, max_user_watches = $want_w), read by systemd-sysctl"
else
  fail "sysctl: /usr/lib/sysctl.d/60-envoy-agent.conf missing, different from packaging/src/sysctl or not in systemd's sysctl.d"
fi
proc_sys=$(cts "awk '\$5 == \"/proc/sys\" { split(\$6, o, \",\"); print o[1] }' /proc/self/mountinfo | tail -1")
have_i=$(cts 'cat /proc/sys/fs/inotify/max_user_instances')
have_w=$(cts 'cat /proc/sys/fs/inotify/max_user_watches')
said=$(grep -c '^envoy-agent: inotify limits not raised, /proc/sys is read-only here' "$work/install.log" || true)
if cts 'test -w /proc/sys/fs/inotify/max_user_instances'; then
  if (( have_i >= want_i && have_w >= want_w )); then
    ok "sysctl: /proc/sys writable in the container ($proc_sys): after install max_user_instances $have_i >= $want_i, max_user_watches $have_w >= $want_w"
  else
    fail "sysctl: /proc/sys writable ($proc_sys) but after install max_user_instances $have_i, max_user_watches $have_w (want >= $want_i, $want_w)"
  fi
elif (( have_i >= want_i && have_w >= want_w )); then
  ok "sysctl: /proc/sys read-only in the container ($proc_sys) and the host's values already high enough ($have_i, $have_w): nothing to raise"
elif [[ $said = 1 ]]; then
  ok "sysctl: /proc/sys read-only in the container ($proc_sys), host values $have_i/$have_w kept: postinst said so in one line and the install succeeded"
else
  fail "sysctl: /proc/sys read-only ($proc_sys), values $have_i/$have_w below $want_i/$want_w, and postinst did not say so ($said lines)"
  cat "$work/install.log"
fi
log "sysctl inside nspawn: /proc/sys mounted $proc_sys; max_user_instances $have_i, max_user_watches $have_w; postinst: $(grep '^envoy-agent: .*inotify\|^envoy-agent: raised' "$work/install.log" || echo nothing)"
# The raise itself, on a writable stand-in for /proc/sys/fs/inotify (a tmpfs in a private mount
# namespace, so neither the container nor the host changes): raises lower values, never lowers
# larger ones, follows an admin's later /etc/sysctl.d file, says one line and exits 0 when read-only.
raise_case() { # lines to run before (instances watches in $1 $2), expected "instances watches"
  cts "unshare -m sh -c 'mount -t tmpfs ci /proc/sys/fs/inotify && cd /proc/sys/fs/inotify \
    && echo $1 >max_user_instances && echo $2 >max_user_watches && $3 \
    && out=\$(/usr/share/envoy-agent/raise-inotify-limits 2>&1); rc=\$?; \
    echo \"\$(cat max_user_instances) \$(cat max_user_watches) rc=\$rc lines=\$(printf %s \"\$out\" | grep -c .)\"'"
}
r_low=$(raise_case 128 8192 true)
r_high=$(raise_case 100000 2000000 true)
r_mixed=$(raise_case 100000 8192 true)
r_pin=$(raise_case 128 8192 'echo fs.inotify.max_user_instances=4096 >/etc/sysctl.d/90-ci.conf'; cts 'rm -f /etc/sysctl.d/90-ci.conf')
r_ro=$(raise_case 128 8192 'mount -o remount,ro /proc/sys/fs/inotify')
if [[ $r_low = "$want_i $want_w rc=0 lines=1" && $r_high = "100000 2000000 rc=0 lines=0" \
      && $r_mixed = "100000 $want_w rc=0 lines=1" && $r_pin = "4096 $want_w rc=0 lines=1" && $r_ro = "128 8192 rc=0 lines=1" ]]; then
  ok "sysctl raise (stand-in /proc/sys): 128/8192 -> $r_low; 100000/2000000 kept ($r_high); mixed -> $r_mixed; admin's 90-ci.conf pin -> $r_pin; read-only -> $r_ro"
else
  fail "sysctl raise: low '$r_low' high '$r_high' mixed '$r_mixed' pinned '$r_pin' read-only '$r_ro'"
fi

verify_out=$(cts 'systemd-analyze verify envoy-agent.service 2>&1' || true)
if [[ -z $verify_out ]]; then
  ok "systemd-analyze verify envoy-agent.service prints nothing"
else
  fail "systemd-analyze verify: $verify_out"
fi
security=$(cts 'systemd-analyze security envoy-agent.service 2>&1 | tail -1' || true)
score=$(grep -o 'level for envoy-agent.service: [0-9.]*' <<<"$security" | grep -o '[0-9.]*$' || echo 99)
if awk -v s="$score" 'BEGIN { exit !(s <= 5.0) }'; then
  ok "systemd-analyze security: $score (5.0 or better)"
else
  fail "systemd-analyze security: $security"
fi

# Test setup: simulator as Envoy, a backend (busybox httpd on 8080), the test config.
cts 'mkdir -p /opt/envoy-sim /srv/www /etc/systemd/system/envoy-agent.service.d \
  && cp /ci/sim/* /opt/envoy-sim/ && chmod 755 /opt/envoy-sim/envoy-simulator \
  && echo hello >/srv/www/index.html \
  && cp /ci/etc/agent.yaml /ci/etc/routes.yaml /ci/etc/routes-2.yaml /etc/envoy-agent/ \
  && cp /ci/etc/simulator.conf /etc/systemd/system/envoy-agent.service.d/ \
  && systemctl daemon-reload \
  && systemd-run -q --unit=ci-backend busybox httpd -f -p 127.0.0.1:8080 -h /srv/www' \
  || { fail "test setup"; exit 1; }
wait_for 10 'curl -sf 127.0.0.1:8080/index.html' || { fail "backend up"; exit 1; }

loop_start() { cts ': >/run/ci-requests.log; systemd-run -q --unit=ci-requests /ci/request-loop'; }
# Stops the loop; prints "total failed".
loop_stop() {
  cts 'systemctl stop ci-requests' >/dev/null 2>&1 || true
  cts 'total=$(wc -l </run/ci-requests.log); bad=$(grep -vc "^200$" /run/ci-requests.log || true); echo "$total $bad"'
}

# ---------------------------------------------------------------------------------------------
log "== start: active only once Envoy is LIVE"
t=$(now)
cts 'systemctl start --no-block envoy-agent'
early=0 waited=0 polls=0
while :; do
  state=$(cts 'systemctl is-active envoy-agent' || true)
  live=$(cts 'curl -s -o /dev/null -w %{http_code} --max-time 1 127.0.0.1:9901/ready' || true)
  polls=$((polls + 1))
  if [[ $state = active ]]; then
    [[ $live = 200 ]] || early=1
    break
  fi
  [[ $state = activating && $live = 200 ]] && waited=$((waited + 1))
  if [[ $state = failed ]] || awk -v s="$(since "$t")" -v m="$((60 * scale))" 'BEGIN { exit !(s > m) }'; then
    early=2
    break
  fi
  sleep 0.05
done
start_s=$(since "$t")
serving=$(cts 'curl -s --max-time 2 127.0.0.1:10080/index.html' || true)
status_text=$(cts 'systemctl show -p StatusText --value envoy-agent')
if [[ $early = 0 && $serving = hello ]]; then
  ok "start: active after ${start_s} s, Envoy LIVE and serving when active ($polls polls, $waited while activating with Envoy already LIVE); STATUS=\"$status_text\""
else
  fail "start: early=$early serving=$serving state=$state after ${start_s} s"
  cts 'journalctl -u envoy-agent --no-pager | tail -40' || true
  exit 1
fi
# sd_notify went through JNA (STATUS= above); JNA unpacked its library under the cache directory
# (and deleted it after loading), not under the user's home (the state directory).
if [[ -n $status_text ]] && cts '! test -e /var/lib/envoy-agent/.cache && ! journalctl -u envoy-agent | grep -q "sd_notify failed\|cannot load libc"'; then
  ok "sd_notify through JNA; nothing unpacked under /var/lib/envoy-agent"
else
  fail "sd_notify through JNA; nothing unpacked under /var/lib/envoy-agent"
fi
# postinst wrote the class data sharing archive for the container's JVM, and the service mapped it.
if cts "test -s /var/cache/envoy-agent/envoy-agent.jsa && grep -q /var/cache/envoy-agent/envoy-agent.jsa /proc/$(main_pid)/maps"; then
  ok "class data sharing: postinst wrote /var/cache/envoy-agent/envoy-agent.jsa and the running agent maps it"
else
  fail "class data sharing: /var/cache/envoy-agent/envoy-agent.jsa missing or not mapped by the agent"
fi
main1=$(main_pid)
envoy1=$(envoy_pids)

# ---------------------------------------------------------------------------------------------
log "== reload: systemctl reload re-applies with the same MainPID, no Envoy restart"
cts "sed -i 's/^  file: routes.yaml/  file: routes-2.yaml/' /etc/envoy-agent/agent.yaml"
loop_start
t=$(now)
mark=$(date +%s)
cts 'systemctl reload envoy-agent'
reload_cmd_s=$(since "$t")
if wait_for 20 'curl -s 127.0.0.1:9902/status | grep -qi "\"appliedVersion\" *: *\"2\""' ; then
  reload_s=$(since "$t")
  sleep 1
  read -r total bad <<<"$(loop_stop)"
  main2=$(main_pid)
  envoy2=$(envoy_pids)
  epoch=$(envoy_epoch)
  reloading=$(journal_since "$mark" | grep -c 'SIGHUP: reloaded' || true)
  if [[ $main2 = "$main1" && $envoy2 = "$envoy1" && $epoch = 0 && $reloading -ge 1 && $bad = 0 ]]; then
    ok "reload: version 2 applied ${reload_s} s after reload (systemctl reload returned in ${reload_cmd_s} s), MainPID $main1 kept, Envoy pid $envoy1 epoch 0 kept, $total requests, $bad failed"
  else
    fail "reload: main $main1->$main2 envoy $envoy1->$envoy2 epoch $epoch reloads $reloading requests $total failed $bad"
  fi
else
  loop_stop >/dev/null
  fail "reload: version 2 not applied"
  cts 'journalctl -u envoy-agent --no-pager | tail -30' || true
fi

# ---------------------------------------------------------------------------------------------
log "== upgrade: dpkg -i of $bumped restarts the agent, Envoy keeps serving"
main1=$(main_pid)
envoy1=$(envoy_pids)
loop_start
sleep 2
t=$(now)
mark=$(date +%s)
cts 'DEBIAN_FRONTEND=noninteractive dpkg -i /ci/envoy-agent-bumped.deb </dev/null' >"$work/upgrade.log" 2>&1 \
  || { cat "$work/upgrade.log"; fail "upgrade: dpkg -i"; }
upgrade_s=$(since "$t")
sleep 2
read -r total bad <<<"$(loop_stop)"
main2=$(main_pid)
envoy2=$(envoy_pids)
installed=$(cts "dpkg-query -W -f '\${Version}' envoy-agent")
adopted=$(journal_since "$mark" | grep -c 'adopted running Envoy' || true)
if [[ $installed = "$bumped" && $main2 != "$main1" && $main2 != 0 && $envoy2 = "$envoy1" && $total -gt 0 && $bad = 0 ]] \
   && cts 'systemctl is-active envoy-agent' >/dev/null; then
  ok "upgrade: dpkg -i took ${upgrade_s} s, agent $main1 -> $main2, Envoy pid $envoy1 unchanged ($adopted adoption log lines), $total requests, $bad failed"
else
  fail "upgrade: version $installed main $main1->$main2 envoy $envoy1->$envoy2 requests $total failed $bad"
  cts 'journalctl -u envoy-agent --no-pager | tail -40' || true
fi
upgrade_requests="$total requests, $bad failed"

# After the upgrade the new agent (another mount namespace) can still hot restart the old Envoy:
# a node change is a bootstrap change.
log "== hot restart by the upgraded agent"
loop_start
t=$(now)
cts "sed -i 's/^  zone: zone-a/  zone: zone-b/' /etc/envoy-agent/agent.yaml && systemctl reload envoy-agent"
if wait_for 60 '[ "$(curl -s 127.0.0.1:9901/server_info | grep -o "\"restart_epoch\": *[0-9]*" | grep -o "[0-9]*$")" = 1 ] && curl -s 127.0.0.1:9902/status | grep -qi "\"phase\" *: *\"serving\""'; then
  hot_s=$(since "$t")
  sleep 1
  read -r total bad <<<"$(loop_stop)"
  if [[ $bad = 0 ]]; then
    ok "hot restart after upgrade: epoch 1 serving in ${hot_s} s, $total requests, $bad failed"
  else
    fail "hot restart after upgrade: $total requests, $bad failed"
  fi
else
  loop_stop >/dev/null
  fail "hot restart after upgrade: epoch 1 not serving"
  cts 'journalctl -u envoy-agent --no-pager | tail -30; tail -20 /var/lib/envoy-agent/envoy.log' || true
fi
# Let the parent epoch finish (parent_shutdown_time_s) before the next scenarios count pids.
wait_for 30 '[ "$(pgrep -u envoy-agent -f envoy-simulator.jar | wc -l)" = 1 ]' || true

# ---------------------------------------------------------------------------------------------
log "== kill -9 of the agent: systemd restarts it, Envoy untouched and adopted"
main1=$(main_pid)
envoy1=$(envoy_pids)
loop_start
t=$(now)
mark=$(date +%s)
cts "kill -9 $main1"
if wait_for 60 "[ \"\$(systemctl show -p MainPID --value envoy-agent)\" != $main1 ] && [ \"\$(systemctl show -p MainPID --value envoy-agent)\" != 0 ] && systemctl is-active envoy-agent"; then
  kill_s=$(since "$t")
  sleep 1
  read -r total bad <<<"$(loop_stop)"
  envoy2=$(envoy_pids)
  adopted=$(journal_since "$mark" | grep -c 'adopted running Envoy' || true)
  if [[ $envoy2 = "$envoy1" && $adopted -ge 1 && $bad = 0 ]]; then
    ok "kill -9: active again after ${kill_s} s (RestartSec=2s included), Envoy pid $envoy1 kept and adopted, $total requests, $bad failed"
  else
    fail "kill -9: envoy $envoy1->$envoy2 adopted=$adopted requests $total failed $bad"
  fi
else
  loop_stop >/dev/null
  fail "kill -9: not restarted"
fi

# ---------------------------------------------------------------------------------------------
log "== hung agent: the watchdog kills it, systemd restarts it"
main1=$(main_pid)
envoy1=$(envoy_pids)
loop_start
t=$(now)
mark=$(date +%s)
cts "kill -STOP $main1"
if wait_for 90 "[ \"\$(systemctl show -p MainPID --value envoy-agent)\" != $main1 ] && [ \"\$(systemctl show -p MainPID --value envoy-agent)\" != 0 ] && systemctl is-active envoy-agent"; then
  dog_s=$(since "$t")
  sleep 1
  read -r total bad <<<"$(loop_stop)"
  envoy2=$(envoy_pids)
  dog=$(journal_since "$mark" | grep -c 'Watchdog timeout' || true)
  if [[ $envoy2 = "$envoy1" && $dog -ge 1 && $bad = 0 ]]; then
    ok "watchdog: stopped agent killed and back after ${dog_s} s (WatchdogSec=20s), Envoy pid $envoy1 kept, $total requests, $bad failed"
  else
    fail "watchdog: envoy $envoy1->$envoy2 watchdog lines=$dog requests $total failed $bad"
    journal_since "$mark" | tail -20 || true
  fi
else
  loop_stop >/dev/null
  fail "watchdog: not restarted"
  cts "kill -CONT $main1" || true
fi

# ---------------------------------------------------------------------------------------------
log "== stop: drains and leaves no process"
t=$(now)
mark=$(date +%s)
cts 'systemctl stop envoy-agent'
stop_s=$(since "$t")
left=$(cts 'pgrep -u envoy-agent | wc -l')
result=$(cts 'systemctl show -p Result --value envoy-agent')
drained=$(journal_since "$mark" | grep -ci 'drain' || true)
if [[ $left = 0 && $result = success ]] && ! cts 'systemctl is-active envoy-agent' >/dev/null; then
  ok "stop: ${stop_s} s (drain_time_s=2), result $result, $drained drain log lines, no process left"
else
  fail "stop: $left processes left, result $result"
fi

# ---------------------------------------------------------------------------------------------
log "== purge: remove stops (drains) a running agent; purge leaves no user or files"
cts 'systemctl start envoy-agent'
t=$(now)
mark=$(date +%s)
cts 'DEBIAN_FRONTEND=noninteractive dpkg --purge envoy-agent' >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg --purge"; }
purge_s=$(since "$t")
if journal_since "$mark" | grep -q 'draining Envoy before stop' && journal_since "$mark" | grep -q 'Envoy stopped'; then
  ok "remove: prerm stopped the running agent, which drained and stopped Envoy"
else
  fail "remove: no drain seen in the journal"
fi
leftovers=$(cts 'for p in /etc/envoy-agent /var/lib/envoy-agent /var/cache/envoy-agent /var/log/envoy-agent \
    /usr/share/envoy-agent /usr/bin/envoy-agent /lib/systemd/system/envoy-agent.service /usr/lib/sysctl.d/60-envoy-agent.conf \
    /etc/systemd/system/multi-user.target.wants/envoy-agent.service; do [ -e "$p" ] && echo "$p"; done; \
  getent passwd envoy-agent; getent group envoy-agent; pgrep -u envoy-agent 2>/dev/null; \
  dpkg-query -W -f "\${Status}" envoy-agent 2>/dev/null | grep -v "not-installed"; true' | tr '\n' ' ')
# The test's own drop-in directory is not the package's; dpkg leaves it (and says so).
if [[ -z ${leftovers// /} ]]; then
  ok "purge: ${purge_s} s, no user, group, files or processes left"
else
  fail "purge leftovers: $leftovers"
fi

# ---------------------------------------------------------------------------------------------
echo
echo "== envoy-agent systemd tests ($version, rootfs ${rootfs_s} s, boot ${boot_s} s; upgrade: $upgrade_requests)"
printf '%s\n' "${summary[@]}"
echo "systemd: $passed passed, $failed failed"
[[ $failed = 0 ]]

#!/usr/bin/env bash
# Builds (once) the Debian 12 rootfs the systemd tests boot with systemd-nspawn, and prints its path.
# Cached under $ENVOY_AGENT_CI_CACHE (default /var/cache/envoy-agent-ci): a rootfs is built in a
# temporary directory and renamed into place only when debootstrap succeeded, and its name carries
# a hash of the package list, so a changed list builds a new one and a broken one is never reused.
# The rootfs is never modified by the tests: they boot it with --volatile=overlay.
set -euo pipefail

cache=${ENVOY_AGENT_CI_CACHE:-/var/cache/envoy-agent-ci}
suite=bookworm
mirror=${ENVOY_AGENT_CI_MIRROR:-$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)}
mirror=${mirror:-http://deb.debian.org/debian}
packages=systemd,systemd-sysv,dbus,adduser,openjdk-17-jre-headless,curl,iproute2,procps,busybox
key=$(printf '%s %s' "$suite" "$packages" | sha256sum | cut -c1-12)
rootfs=$cache/rootfs-$key

if [[ -x $rootfs/lib/systemd/systemd && -x $rootfs/usr/bin/java ]]; then
  echo "$rootfs"
  exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [[ ! -x $rootfs/lib/systemd/systemd ]]; then
  work=$(mktemp -d "$cache/build.XXXXXX")
  trap 'rm -rf --one-file-system "$work"' EXIT
  start=$(date +%s)
  echo "debootstrap $suite into $rootfs ($packages) from $mirror" >&2
  debootstrap --variant=minbase --include="$packages" "$suite" "$work/root" "$mirror" >"$work/log" 2>&1 \
    || { tail -30 "$work/log" >&2; exit 1; }
  # Boot quietly and fast: no getty on the read-only console, a fixed machine id per boot.
  rm -f "$work/root/etc/machine-id" && : >"$work/root/etc/machine-id"
  chroot "$work/root" systemctl mask console-getty.service getty@.service systemd-timesyncd.service \
    apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer >/dev/null 2>&1 || true
  chroot "$work/root" apt-get clean
  mv "$work/root" "$rootfs"
  echo "debootstrap took $(( $(date +%s) - start )) s" >&2
fi
echo "$rootfs"

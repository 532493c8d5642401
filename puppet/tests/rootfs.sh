#!/usr/bin/env bash
# Builds (once) the rootfs the Puppet apply test boots, and prints its path: a copy of the packaging
# tests' Debian 12 rootfs (packaging/tests/rootfs.sh, used read-only) with Debian's puppet and
# stdlib added. Cached next to it under $ENVOY_AGENT_CI_CACHE (default /var/cache/envoy-agent-ci),
# keyed by the base rootfs and the package list; built in a temporary directory and renamed into
# place only when complete. The test boots it with --volatile=overlay: it is never modified.
set -euo pipefail

here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${ENVOY_AGENT_CI_CACHE:-/var/cache/envoy-agent-ci}
packages="puppet puppet-module-puppetlabs-stdlib"

base=$("$repo/packaging/tests/rootfs.sh")
key=$(printf '%s %s' "$(basename "$base")" "$packages" | sha256sum | cut -c1-12)
rootfs=$cache/puppet-rootfs-$key

if [[ -x $rootfs/usr/bin/puppet && -x $rootfs/lib/systemd/systemd ]]; then
  echo "$rootfs"
  exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.puppet-lock"
flock 9
if [[ ! -x $rootfs/usr/bin/puppet ]]; then
  work=$(mktemp -d "$cache/puppet-build.XXXXXX")
  trap 'rm -rf --one-file-system "$work"' EXIT
  start=$(date +%s)
  echo "copying $base and installing $packages" >&2
  cp -a --reflink=auto "$base" "$work/root"
  # Not booted: one command in the rootfs, with the host's network and resolver (apt only).
  systemd-nspawn -q -D "$work/root" --register=no --keep-unit --resolv-conf=copy-host \
    -E DEBIAN_FRONTEND=noninteractive \
    sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $packages >/dev/null && apt-get clean" \
    >"$work/log" 2>&1 || { tail -30 "$work/log" >&2; exit 1; }
  rm -f "$work/root/etc/resolv.conf"
  mv "$work/root" "$rootfs"
  echo "puppet rootfs took $(( $(date +%s) - start )) s" >&2
fi
echo "$rootfs"

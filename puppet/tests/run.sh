#!/usr/bin/env bash
# Every check of the envoy_agent Puppet module; exits non-zero on the first failure.
#   puppet/tests/run.sh [--no-apply]
# --no-apply skips the real puppet apply in a systemd container (tests/apply-test.sh), which needs
# root, the built .deb (packaging/target) and the Envoy simulator (testkit/target).
set -euo pipefail
cd "$(dirname "$0")/.."

apply=1
[[ ${1:-} = --no-apply ]] && apply=0

# Facter complains about /proc/1/environ in sandboxes; that line is noise, everything else shows.
quiet() { "$@" 2> >(grep -v 'Facter: Permission denied' >&2); }
step() { echo "== puppet: $*"; }

step "puppet parser validate ($(puppet --version))"
quiet puppet parser validate manifests types examples
echo "ok: $(ls manifests/*.pp types/*.pp examples/*.pp | wc -l) files"

step "puppet epp validate"
quiet puppet epp validate templates/*.epp
echo "ok: $(ls templates/*.epp | wc -l) templates"

step "puppet-lint --fail-on-warnings"
puppet-lint --fail-on-warnings --relative manifests types examples
echo "ok: no warnings"

step "metadata-json-lint"
metadata-json-lint metadata.json
echo "ok: metadata.json"

step "rspec-puppet"
start=$(date +%s)
quiet rspec
echo "rspec passed in $(( $(date +%s) - start )) s"

step "REFERENCE.md is current (puppet strings)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" .yardoc' EXIT
quiet puppet strings generate --format markdown --out "$tmp/REFERENCE.md" 2> >(grep -v 'ERB.new' >&2) >/dev/null
if ! diff -u REFERENCE.md "$tmp/REFERENCE.md"; then
  echo "REFERENCE.md is stale: cd puppet && puppet strings generate --format markdown" >&2
  exit 1
fi
echo "ok: REFERENCE.md matches the code"

if (( apply )); then
  step "puppet apply on the packaged agent under systemd (tests/apply-test.sh)"
  start=$(date +%s)
  tests/apply-test.sh
  echo "puppet apply test passed in $(( $(date +%s) - start )) s"
fi

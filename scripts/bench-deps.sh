#!/usr/bin/env bash
# Idempotent install of what the side-by-side benchmarks (make bench-*) need beyond
# `make build`, from Debian packages only:
#   containerd, runc           the peer runtime (containerd 1.6: CRI plugin, runc v2 shim)
#   crun                       the second OCI peer of bench-runtime
#   containernetworking-plugins, iptables, iproute2
#                              the CNI bridge both runtimes share
#   docker-registry            the local registry images are pulled from
#   busybox-static             the busybox the test images carry
#   procps, util-linux         ps, mount/umount, unshare
# Packages already installed are skipped with no apt call, so a second run takes a
# fraction of a second. The packaged containerd and docker-registry services are kept
# from starting (policy-rc.d), as scripts/setup.sh does: benchmarks start their own.
set -euo pipefail

pkgs=(containerd runc crun containernetworking-plugins iptables iproute2 docker-registry
  busybox-static procps util-linux)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
((${#missing[@]})) || exit 0

echo "bench-deps: installing Debian packages: ${missing[*]}"
policy=/usr/sbin/policy-rc.d
created_policy=false
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created_policy=true
fi
trap '$created_policy && rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

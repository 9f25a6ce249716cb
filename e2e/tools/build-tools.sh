#!/usr/bin/env bash
# build-tools.sh: build (once) and cache the real Kubernetes/CRI components
# that Skiff's e2e tests run, from source through the Go module proxy, at the
# versions pinned in e2e/tools/versions.env. Nothing prebuilt is downloaded.
#
# Usage:
#   e2e/tools/build-tools.sh [NAME ...]   build the named tools (default: all)
#   e2e/tools/build-tools.sh --path NAME  print the absolute path of NAME's
#                                         binary, building it first if missing
#   e2e/tools/build-tools.sh --list       print the tool names and versions
#
#   e.g.  CRICTL=$(e2e/tools/build-tools.sh --path crictl)
#
# Tools (NAME = binary name):
#   crictl                    go install sigs.k8s.io/cri-tools/cmd/crictl@V
#   critest                   go test -c sigs.k8s.io/cri-tools/cmd/critest,
#                             in a throwaway module requiring cri-tools V
#   kube-apiserver, kube-controller-manager, kubelet, kubeadm, kubectl
#                             go build k8s.io/kubernetes/cmd/NAME, in a
#                             throwaway module requiring k8s.io/kubernetes V
#                             with every staging module (k8s.io/api, ...,
#                             listed in kubernetes' own go.mod as
#                             "=> ./staging/src/...") replaced by its
#                             published v0.X.Y; version info set by -ldflags
#   etcd, etcdctl             go build go.etcd.io/etcd/server/v3 and
#                             go.etcd.io/etcd/etcdctl/v3 in a throwaway module
#
# Cache layout (outside the clone, shared by every clone and CI run on the
# machine; keyed by version, so a new pin builds beside the old one):
#   ${SKIFF_TOOLS_CACHE:-/var/cache/skiff/tools}/
#     .lock                       flock(1) lock: one builder at a time
#     <name>-<version>/<binary>   e.g. crictl-v1.37.0/crictl,
#                                 kubelet-v1.37.2/kubelet, etcd-v3.6.16/etcd
#     logs/<name>-<version>.log   go's output of the last build of that tool
#     .tmp-*                      in-progress builds (renamed into place with
#                                 mv when complete and verified)
# Go's own module and build caches (GOMODCACHE, GOCACHE; by default under
# ~/go and ~/.cache) persist too, so a rebuild is mostly cache hits.
#
# A tool counts as cached when its binary exists and, run with its version
# flag, reports the pinned version; then it is skipped without taking the
# lock. Status lines ("NAME VERSION: cached" / "built (Ns)") go to stderr, so
# stdout carries only what --path/--list print.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env source-path=SCRIPTDIR
source "${here}/versions.env"

CACHE="${SKIFF_TOOLS_CACHE:-/var/cache/skiff/tools}"
ALL_TOOLS=(crictl critest kube-apiserver kube-controller-manager kubelet kubeadm kubectl etcd etcdctl)
KUBE_CMDS=(kube-apiserver kube-controller-manager kubelet kubeadm kubectl)

# --- Go environment ----------------------------------------------------------
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
[[ -x "$GO" ]] || { echo "build-tools: no Go toolchain (set GO=/path/to/go)" >&2; exit 1; }
export GOTOOLCHAIN="${SKIFF_GOTOOLCHAIN:-local}" # local: never fetch another Go
export GOWORK=off          # a go.work above TMPDIR must not leak in
export CGO_ENABLED=0       # static binaries, as upstream releases them
[[ " ${GOFLAGS:-} " == *" -buildvcs=false "* ]] || export GOFLAGS="${GOFLAGS:+${GOFLAGS} }-buildvcs=false"
# GOMODCACHE/GOCACHE: Go's defaults (persistent, under $HOME) unless set.

log() { echo "build-tools: $*" >&2; }
die() { log "$*"; exit 1; }

# --- per-tool facts ----------------------------------------------------------
# tool_version NAME: the pinned version (also the cache key)
tool_version() {
  case "$1" in
    crictl | critest) echo "$CRI_TOOLS_VERSION" ;;
    kube-apiserver | kube-controller-manager | kubelet | kubeadm | kubectl) echo "$KUBERNETES_VERSION" ;;
    etcd | etcdctl) echo "$ETCD_VERSION" ;;
    *) return 1 ;;
  esac
}

tool_dir() { echo "${CACHE}/$1-$(tool_version "$1")"; }
tool_path() { echo "$(tool_dir "$1")/$1"; }

# tool_reports_version NAME BINARY: run BINARY's version command and check
# that it names the pinned version (etcd prints it without the leading "v").
tool_reports_version() {
  local name="$1" bin="$2" want out
  want="$(tool_version "$name")"
  [[ -x "$bin" ]] || return 1
  case "$name" in
    crictl | critest | kube-apiserver | kube-controller-manager | kubelet | etcd)
      out="$(timeout 20 "$bin" --version 2>&1)" ;;
    kubeadm) out="$(timeout 20 "$bin" version -o short 2>&1)" ;;
    kubectl) out="$(timeout 20 "$bin" version --client 2>&1)" ;;
    etcdctl) out="$(timeout 20 "$bin" version 2>&1)" ;;
  esac || return 1
  [[ "$name" == etcd* ]] && want="${want#v}"
  # whole-version match: v1.37.2 must not accept v1.37.20
  [[ "$out" =~ (^|[^0-9.])${want//./\\.}([^0-9.]|$) ]]
}

# --- building ----------------------------------------------------------------
BUILD_TMP=()   # dirs removed on exit (throwaway modules, unfinished builds)
cleanup() { local d; for d in "${BUILD_TMP[@]+"${BUILD_TMP[@]}"}"; do rm -rf "$d"; done; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# new_module DIR MODPATH: a throwaway main module in a fresh temp dir
new_module() {
  local -n _dir="$1"
  _dir="$(mktemp -d "${TMPDIR:-/tmp}/skiff-tools-$2.XXXXXX")"
  BUILD_TMP+=("$_dir")
  printf 'module skiff.invalid/tools/%s\n\ngo 1.26.0\n' "$2" >"${_dir}/go.mod"
}

# run_logged LOG CMD...: run CMD, output appended to LOG; on failure show it
run_logged() {
  local logf="$1"; shift
  echo "+ $*" >>"$logf"
  if ! "$@" >>"$logf" 2>&1; then
    log "FAILED: $*"; tail -n 40 "$logf" | sed 's/^/    /' >&2
    log "full log: $logf"
    return 1
  fi
}

# install_tool NAME BUILDFN: build NAME's binary with "BUILDFN OUTDIR LOG" into
# a temp dir inside the cache, check it reports its version, then rename the
# directory into place (atomic: same filesystem), and print the status line.
install_tool() {
  local name="$1" fn="$2" start stage dest logf
  start=$SECONDS
  dest="$(tool_dir "$name")"
  logf="${CACHE}/logs/$(basename "$dest").log"
  : >"$logf"
  stage="$(mktemp -d "${CACHE}/.tmp-$(basename "$dest").XXXXXX")"
  BUILD_TMP+=("$stage")
  mkdir "${stage}/out"
  "$fn" "${stage}/out" "$logf" || die "$name: build failed"
  tool_reports_version "$name" "${stage}/out/${name}" ||
    die "$name: built binary does not report $(tool_version "$name")"
  rm -rf "$dest"                       # a stale or broken entry (we hold the lock)
  mv -T "${stage}/out" "$dest"
  rmdir "$stage"
  log "$name $(tool_version "$name"): built ($((SECONDS - start))s)"
}

# crictl: go install straight into the staging dir.
build_crictl() {
  run_logged "$2" env GOBIN="$1" "$GO" install -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=${CRI_TOOLS_VERSION}" \
    "sigs.k8s.io/cri-tools/cmd/crictl@${CRI_TOOLS_VERSION}"
}

# critest: the cri-tools validation suite is a test binary.
build_critest() {
  local out="$1" logf="$2" mod
  new_module mod critest
  (cd "$mod" &&
    run_logged "$logf" "$GO" get -t "sigs.k8s.io/cri-tools/cmd/critest@${CRI_TOOLS_VERSION}" &&
    run_logged "$logf" "$GO" test -c -trimpath -o "${out}/critest" \
      -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=${CRI_TOOLS_VERSION}" \
      sigs.k8s.io/cri-tools/cmd/critest)
}

# Kubernetes: one throwaway module for all its commands (set up on first use).
KUBE_MOD=""
kube_module() {
  [[ -n "$KUBE_MOD" ]] && return 0
  local logf="$1" gomod staging m start=$SECONDS
  new_module KUBE_MOD kubernetes
  gomod="$(cd "$KUBE_MOD" && "$GO" mod download -json "k8s.io/kubernetes@${KUBERNETES_VERSION}" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
  [[ -f "$gomod" ]] || die "cannot fetch k8s.io/kubernetes@${KUBERNETES_VERSION}"
  # Staging modules: required at v0.0.0 and replaced by => ./staging/src/...
  staging="$(awk '
    /=>[[:space:]]*\.\/staging\/src\// { for (i = 1; i <= NF; i++) if ($i == "=>") rep[$(i-1)] = 1 }
    $1 ~ /^k8s\.io\// && $2 == "v0.0.0" { req[$1] = 1 }
    $1 == "require" && $2 ~ /^k8s\.io\// && $3 == "v0.0.0" { req[$2] = 1 }
    END { for (m in req) if (m in rep) print m }' "$gomod" | sort)"
  [[ -n "$staging" ]] || die "no staging modules found in $gomod"
  local edits=(-require "k8s.io/kubernetes@${KUBERNETES_VERSION}")
  for m in $staging; do edits+=(-replace "${m}=${m}@${KUBERNETES_STAGING_VERSION}"); done
  (cd "$KUBE_MOD" && "$GO" mod edit "${edits[@]}") || die "cannot write the kubernetes module"
  local pkgs=()
  for m in "${KUBE_CMDS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/${m}@${KUBERNETES_VERSION}"); done
  (cd "$KUBE_MOD" && run_logged "$logf" "$GO" get "${pkgs[@]}") || die "kubernetes: go get failed"
  log "kubernetes ${KUBERNETES_VERSION}: module ready, $(wc -w <<<"$staging") staging modules at ${KUBERNETES_STAGING_VERSION} ($((SECONDS - start))s)"
}

# The version stamp that hack/lib/version.sh gives a release build; the build
# date is the module's publication time (reproducible).
kube_ldflags() {
  local v="$KUBERNETES_VERSION" major minor date flags="-s -w" pkg kv
  major="${v#v}"; major="${major%%.*}"
  minor="${v#v*.}"; minor="${minor%%.*}"
  date="$(cd "$KUBE_MOD" && "$GO" list -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' k8s.io/kubernetes)"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    for kv in "gitVersion=${v}" "gitMajor=${major}" "gitMinor=${minor}" \
      "gitTreeState=archive" "gitCommit=" "buildDate=${date:-1970-01-01T00:00:00Z}"; do
      flags+=" -X '${pkg}.${kv}'"
    done
  done
  echo "$flags"
}

build_kube() { # NAME OUT LOG
  local name="$1" out="$2" logf="$3"
  kube_module "$logf"
  (cd "$KUBE_MOD" && run_logged "$logf" "$GO" build -trimpath -ldflags "$(kube_ldflags)" \
    -o "${out}/${name}" "k8s.io/kubernetes/cmd/${name}")
}
build_kube-apiserver() { build_kube kube-apiserver "$@"; }
build_kube-controller-manager() { build_kube kube-controller-manager "$@"; }
build_kubelet() { build_kube kubelet "$@"; }
build_kubeadm() { build_kube kubeadm "$@"; }
build_kubectl() { build_kube kubectl "$@"; }

# etcd: the server's main package is the root of go.etcd.io/etcd/server/v3.
ETCD_MOD=""
build_etcd_pkg() { # NAME PKG OUT LOG
  local name="$1" pkg="$2" out="$3" logf="$4"
  if [[ -z "$ETCD_MOD" ]]; then
    new_module ETCD_MOD etcd
    (cd "$ETCD_MOD" && run_logged "$logf" "$GO" get \
      "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" "go.etcd.io/etcd/etcdctl/v3@${ETCD_VERSION}") ||
      die "etcd: go get failed"
  fi
  (cd "$ETCD_MOD" && run_logged "$logf" "$GO" build -trimpath -ldflags "-s -w" -o "${out}/${name}" "$pkg")
}
build_etcd() { build_etcd_pkg etcd go.etcd.io/etcd/server/v3 "$@"; }
build_etcdctl() { build_etcd_pkg etcdctl go.etcd.io/etcd/etcdctl/v3 "$@"; }

# --- main --------------------------------------------------------------------
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

mode=build
tools=()
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --list) mode=list; shift ;;
    --path)
      mode=path; shift
      (($#)) || die "--path needs a tool name"
      tools=("$1"); shift
      (($# == 0)) || die "--path takes exactly one tool name" ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) tools+=("$1"); shift ;;
  esac
done
((${#tools[@]})) || tools=("${ALL_TOOLS[@]}")
for t in "${tools[@]}"; do
  tool_version "$t" >/dev/null || die "unknown tool '$t' (known: ${ALL_TOOLS[*]})"
done

if [[ "$mode" == list ]]; then
  for t in "${tools[@]}"; do echo "$t $(tool_version "$t") $(tool_path "$t")"; done
  exit 0
fi

# Fast path, no lock: a finished entry only ever appears by rename.
missing=()
for t in "${tools[@]}"; do
  if tool_reports_version "$t" "$(tool_path "$t")"; then
    [[ "$mode" == path ]] || log "$t $(tool_version "$t"): cached"
  else
    missing+=("$t")
  fi
done

# Build what is missing. The lock is taken per tool, so a concurrent run that
# only needs a tool finished meanwhile does not wait for all of this run.
if ((${#missing[@]})); then
  mkdir -p "${CACHE}/logs" || die "cannot create ${CACHE}"
  for t in "${missing[@]}"; do
    exec 9>"${CACHE}/.lock"
    if ! flock -n 9; then
      log "$t: waiting for another build-tools run (lock ${CACHE}/.lock)"
      flock 9
    fi
    rm -rf "${CACHE}"/.tmp-* # left by a killed run: only a lock holder builds
    if tool_reports_version "$t" "$(tool_path "$t")"; then # built meanwhile
      log "$t $(tool_version "$t"): cached"
    else
      install_tool "$t" "build_$t"
    fi
    exec 9>&- # unlock
  done
fi

if [[ "$mode" == path ]]; then
  tool_path "${tools[0]}"
fi

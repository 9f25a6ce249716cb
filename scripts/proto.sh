#!/usr/bin/env bash
# The protocol files Skiff serves, and the TS types generated from them.
#   scripts/proto.sh fetch      vendor k8s.io/cri-api's api.proto (unchanged, with its
#                               licence) from the Go module proxy, checked by sha256
#   scripts/proto.sh generate   proto-loader-gen-types -> cri/src/generated/
#   scripts/proto.sh check      fail if the vendored file or the generated types drifted
# The pinned module, version and checksum live in proto/runtime/v1/PROVENANCE.
set -euo pipefail
cd "$(dirname "$0")/.."

CRI_DIR=proto/runtime/v1
PROVENANCE=$CRI_DIR/PROVENANCE
GENERATED=cri/src/generated
field() { sed -n "s/^$1: //p" "$PROVENANCE"; }

fetch() {
  local module version path want dir
  module=$(field module) version=$(field version) path=$(field path) want=$(field sha256)
  export PATH=$PATH:/usr/local/go/bin
  dir=$(cd /tmp && go mod download -json "$module@$version" |
    sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [[ -n $dir && -f $dir/$path ]] || { echo "proto: $module@$version has no $path" >&2; exit 1; }
  local got
  got=$(sha256sum "$dir/$path" | cut -d' ' -f1)
  if [[ $got != "$want" ]]; then
    echo "proto: $module@$version $path has sha256 $got, PROVENANCE says $want" >&2
    exit 1
  fi
  install -m 0644 "$dir/$path" "$CRI_DIR/api.proto"
  install -m 0644 "$dir/LICENSE" "$CRI_DIR/LICENSE"
  echo "proto: vendored $module@$version $path"
}

# generate_into DIR: the TS types of every .proto, formatted as committed.
generate_into() {
  local out=$1 files=(runtime/v1/api.proto)
  for f in proto/skiff/v1/*.proto; do files+=("${f#proto/}"); done
  rm -rf "$out"
  mkdir -p "$out"
  node_modules/.bin/proto-loader-gen-types --keepCase --longs String --enums String \
    --defaults --oneofs --grpcLib @grpc/grpc-js --importFileExtension .js \
    -I proto -O "$out" "${files[@]}" >/dev/null
  node_modules/.bin/prettier --ignore-path .prettierignore --log-level warn --write "$out"
}

generate() {
  generate_into "$GENERATED"
  echo "proto: generated $GENERATED"
}

check() {
  local want got
  want=$(field sha256)
  got=$(sha256sum "$CRI_DIR/api.proto" | cut -d' ' -f1)
  if [[ $got != "$want" ]]; then
    echo "check-proto: $CRI_DIR/api.proto has sha256 $got, PROVENANCE pins $want" >&2
    exit 1
  fi
  local fresh  # (the EXIT trap below expands it now, at trap time)
  fresh=$(mktemp -d "$PWD/.generated-check.XXXXXX")
  trap "rm -rf '$fresh'" EXIT
  generate_into "$fresh"
  if ! diff -r "$GENERATED" "$fresh" >"$fresh.diff"; then
    head -20 "$fresh.diff" >&2
    rm -f "$fresh.diff"
    echo "check-proto: $GENERATED is not what the .proto files generate; run make proto" >&2
    exit 1
  fi
  rm -f "$fresh.diff"
  echo "check-proto: ok ($(field module)@$(field version), sha256 $want)"
}

case ${1:-} in
  fetch) fetch ;;
  generate) generate ;;
  check) check ;;
  *) echo "usage: $0 fetch|generate|check" >&2; exit 2 ;;
esac

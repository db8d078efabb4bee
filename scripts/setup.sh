#!/usr/bin/env bash
# Installs what jsec's demo and tests (--tests) or the benchmark (--bench) need on a
# fresh Debian/Ubuntu machine:
# Deno and Bun from the npm registry (package.json), and the native libraries
# and peer programs from apt. Quiet and idempotent: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x tools/node_modules/.bin/deno ] || [ ! -x tools/node_modules/.bin/bun ]; then
  echo "setup: installing Deno and Bun from the npm registry"
  # npm install, not npm ci: npm 11 leaves other platforms' optional packages out of the
  # lock file and npm ci then refuses it. tools/package.json pins exact versions.
  npm install --prefix tools --no-audit --no-fund --loglevel=error >/dev/null
fi

need=()
have_lib() { ldconfig -p 2>/dev/null | grep -q "$1"; }
have_lib 'libssl.so.3 ' || need+=(libssl3)
command -v openssl >/dev/null || need+=(openssl)
if [ "${1:-}" = "--tests" ] || [ "${1:-}" = "--bench" ]; then
  have_lib 'libmbedtls.so.14 ' || need+=(libmbedtls14)
fi
if [ "${1:-}" = "--tests" ]; then
  command -v gnutls-serv >/dev/null || need+=(gnutls-bin)
  command -v curl >/dev/null || need+=(curl)
fi
if [ "${1:-}" = "--bench" ]; then
  # Headers and a compiler for the C anchor loops in bench/c/.
  [ -f /usr/include/openssl/ssl.h ] || need+=(libssl-dev)
  [ -f /usr/include/mbedtls/ssl.h ] || need+=(libmbedtls-dev)
  command -v cc >/dev/null || need+=(gcc)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]} with apt-get"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

#!/usr/bin/env bash
# README's second command: every test under {Deno, Bun} x {OpenSSL, mbedTLS}.
# Extra arguments narrow the files, e.g. `bash scripts/test.sh tests/tls_basic.test.ts`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --tests
exec node scripts/matrix.mjs "$@"

#!/usr/bin/env bash
# README's first command: runs the demo under Deno and under Bun.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== Deno =="
tools/node_modules/.bin/deno run --allow-ffi --allow-net --allow-env --allow-read examples/demo.ts
echo "== Bun =="
tools/node_modules/.bin/bun examples/demo.ts

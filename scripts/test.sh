#!/usr/bin/env bash
# Runs every check and test: fmt, lint, type check, generated-code drift, plugin import rule, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec scripts/deno task ok

#!/usr/bin/env bash
# Brings up a 2-node demo lab (network namespaces, an agent per node) and prints what it did.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec scripts/deno task demo "$@"

#!/usr/bin/env bash
# The test command: starts what the tests need, then runs every test of the workspace.
# Tests whose server is unavailable print "skipped: <reason>".
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh
cargo test --workspace --all-targets "$@"

#!/usr/bin/env bash
# Quick start: runs hushd on the embedded SQLite default (config/hush.toml) against NATS on
# 127.0.0.1:4222, starting nats-server if none runs, and creating the keys on first run.
# Builds `hushd` and `hush` into target/release; add that directory to PATH to use `hush`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh nats
cargo build --release -q -p hushd -p hush-cli
if [ ! -f .hush-dev/keys/resolver.key ]; then
  target/release/hush keys init .hush-dev/keys >/dev/null
  echo "[dev] created keys in .hush-dev/keys" >&2
fi
echo "[dev] hushd on config/hush.toml; in another shell: export PATH=\$PWD/target/release:\$PATH HUSH_CONFIG=config/hush.toml" >&2
exec target/release/hushd --config config/hush.toml

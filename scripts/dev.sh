#!/usr/bin/env bash
# Quick start: runs hushd on the embedded SQLite default (config/hush.toml) against NATS on
# 127.0.0.1:4222, starting nats-server if none runs, and creating the keys on first run.
# Builds `hushd`, `hush` and `hush-gateway` into target/release; add that directory to PATH to use `hush`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh nats
cargo build --release -q -p hushd -p hush-cli -p hush-gateway
if [ ! -f .hush-dev/keys/resolver.key ]; then
  target/release/hush keys init .hush-dev/keys >/dev/null
  echo "[dev] created keys in .hush-dev/keys" >&2
fi
if [ ! -f .hush-dev/keys/client.key ]; then
  target/release/hush keys client .hush-dev/keys/client >/dev/null
  echo "[dev] created the CLI's client key pair .hush-dev/keys/client.{key,pub}" >&2
fi
# hushd needs nats-server >= 2.10 (its replay ledger is a JetStream key-value bucket). When an
# older server holds 4222, run a current one on 4223 for this stack.
version=$( (exec 3<>/dev/tcp/127.0.0.1/4222 && timeout 3 head -n 1 <&3) 2>/dev/null | sed -n 's/.*"version":"\([0-9.]*\)".*/\1/p')
IFS=. read -r major minor _ <<<"${version:-0.0}"
nats_env=""
if [ "${major:-0}" -lt 2 ] || { [ "${major:-0}" -eq 2 ] && [ "${minor:-0}" -lt 10 ]; }; then
  mkdir -p .hush-dev/nats
  if ! (exec 3<>/dev/tcp/127.0.0.1/4223) 2>/dev/null; then
    nohup nats-server -a 127.0.0.1 -p 4223 -js -sd .hush-dev/nats >.hush-dev/nats/server.log 2>&1 &
    for _ in $(seq 1 40); do (exec 3<>/dev/tcp/127.0.0.1/4223) 2>/dev/null && break; sleep 0.25; done
  fi
  export HUSH_NATS__URL=nats://127.0.0.1:4223
  nats_env=" HUSH_NATS__URL=$HUSH_NATS__URL"
  echo "[dev] the NATS server on 4222 is ${version:-unknown} (< 2.10): using nats-server on 127.0.0.1:4223" >&2
fi
echo "[dev] hushd on config/hush.toml; in another shell: export PATH=\$PWD/target/release:\$PATH HUSH_CONFIG=config/hush.toml$nats_env" >&2
exec target/release/hushd --config config/hush.toml

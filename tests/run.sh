#!/usr/bin/env bash
# Install everything needed and run the whole test suite.
# Usage: bash tests/run.sh [pytest arguments...]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '==> %s\n' "$*" >&2; }

have_mariadb_server() {
    command -v mariadbd >/dev/null 2>&1 || command -v mysqld >/dev/null 2>&1 ||
        [ -x /usr/sbin/mariadbd ] || [ -x /usr/sbin/mysqld ]
}
have_mariadb_client() {
    command -v mariadb >/dev/null 2>&1 || command -v mysql >/dev/null 2>&1
}

# The tests start their own throwaway server (tests/mariadb_server.py) from
# the installed binaries; the system service is neither needed nor used.
packages=()
if [ -n "${TEST_MARIADB_URL:-}" ]; then
    log "TEST_MARIADB_URL is set: the tests use that server, only the client is needed"
    have_mariadb_client || packages=(mariadb-client)
elif have_mariadb_server && have_mariadb_client; then
    log "MariaDB server and client found; not installing them"
else
    packages=(mariadb-server mariadb-client)
fi

if [ "${#packages[@]}" -gt 0 ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        log "cannot install ${packages[*]}: no apt-get; install MariaDB by hand or set TEST_MARIADB_URL"
        exit 1
    fi
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then
        SUDO=(sudo)
    fi
    log "installing ${packages[*]} with apt-get"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "${packages[@]}"
fi

export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
log "installing the project and its test dependencies (pip install -e '.[test]')"
python3 -m pip install -q -e '.[test]'

log "running pytest $*"
status=0
python3 -m pytest "$@" || status=$?
log "pytest exited with status $status"
exit "$status"

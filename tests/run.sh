#!/usr/bin/env bash
# Install everything needed and run the whole test suite: the system's
# programs from Debian's packages (apt-get), the project and its test
# dependencies into a virtual environment of its own (.venv, made when
# missing), then the lint (ruff) and pytest.
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

# tests/test_nginx.py runs its own nginx process in front of the app (not the
# system service); tests/test_compose.py checks docker-compose.yml with
# `docker-compose config`, which needs no Docker engine;
# tests/test_rate_limit.py runs its own redis-server (not the system service)
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
    log "nginx found; not installing it"
else
    packages+=(nginx)
fi
if command -v docker-compose >/dev/null 2>&1; then
    log "docker-compose found; not installing it"
else
    packages+=(docker-compose)
fi
if command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ]; then
    log "redis-server found; not installing it"
else
    packages+=(redis-server)
fi
# tests/test_docs_page.py drives Debian's headless Chromium (selenium)
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    log "chromium and chromedriver found; not installing them"
else
    packages+=(chromium chromium-driver)
fi

# the virtual environment needs venv and ensurepip, which Debian and Ubuntu
# ship apart from python3 (python3-venv)
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    packages+=(python3-venv)
fi

if [ "${#packages[@]}" -gt 0 ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        log "cannot install ${packages[*]}: no apt-get; install them by hand (for MariaDB, or set TEST_MARIADB_URL)"
        exit 1
    fi
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then
        SUDO=(sudo)
    fi
    # the packages' own services are not wanted: forbid starting them while
    # installing (invoke-rc.d asks policy-rc.d; 101: not allowed), so a busy
    # port 80 or a machine without an init system cannot fail the install
    policy=/usr/sbin/policy-rc.d
    own_policy=
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
        "${SUDO[@]}" chmod 755 "$policy"
        own_policy=1
        trap '"${SUDO[@]}" rm -f "$policy"' EXIT
    fi
    log "installing ${packages[*]} with apt-get"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "${packages[@]}"
    if [ -n "$own_policy" ]; then
        "${SUDO[@]}" rm -f "$policy"
        trap - EXIT
    fi
fi

# a virtual environment of its own: Debian 12 and Ubuntu 24.04 refuse
# `pip install` into the system's Python (externally-managed-environment)
export PIP_DISABLE_PIP_VERSION_CHECK=1
if [ ! -x .venv/bin/python ]; then
    log "creating the virtual environment .venv"
    python3 -m venv .venv
fi
log "installing the project and its test dependencies into .venv (pip install -e '.[test]')"
.venv/bin/python -m pip install -q -e '.[test]'

log "lint: ruff check"
.venv/bin/python -m ruff check .

log "running pytest $*"
status=0
.venv/bin/python -m pytest "$@" || status=$?
log "pytest exited with status $status"
exit "$status"

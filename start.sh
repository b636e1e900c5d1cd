#!/usr/bin/env bash
# Set up and start the server: a virtual environment of its own (.venv,
# made when missing, with Debian's python3-venv installed first where
# python3 lacks it), the project installed into it, then
# `.venv/bin/python -m server` with this script's arguments (none: serve
# the embedded database, with the demo data on its first start).
# Usage: bash start.sh [serve [--host H] [--port P] | any other command of python -m server]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

log() { printf '==> %s\n' "$*" >&2; }

if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    log "Python 3.11 or later is needed as python3 (found: $(python3 --version 2>&1 || echo none))"
    exit 1
fi

if [ ! -x .venv/bin/python ]; then
    # Debian and Ubuntu ship venv and ensurepip apart from python3
    if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
        if ! command -v apt-get >/dev/null 2>&1; then
            log "python3 cannot make a virtual environment here: install its venv module"
            exit 1
        fi
        SUDO=()
        if [ "$(id -u)" -ne 0 ]; then
            SUDO=(sudo)
        fi
        log "installing python3-venv with apt-get"
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv
    fi
    log "creating the virtual environment .venv"
    python3 -m venv .venv
fi

export PIP_DISABLE_PIP_VERSION_CHECK=1
log "installing the project into .venv (pip install -e .)"
.venv/bin/python -m pip install -q -e .

exec .venv/bin/python -m server "$@"

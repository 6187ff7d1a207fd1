#!/usr/bin/env bash
# PostgreSQL for the web app's database test (tests/test_web_postgres.py): Debian's server binaries
# (initdb, pg_ctl). The test starts its own throwaway server in a temp dir on a free port and stops
# it; nothing is started here. Installs only if missing. Used by .ci/run.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null 2>&1; then
    echo "postgresql: $(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n1 || command -v initdb)"
    exit 0
fi
echo "apt: installing postgresql"
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql

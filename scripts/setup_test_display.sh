#!/usr/bin/env bash
# The virtual X display the live window's screenshot test opens its window on (tests/
# test_live_display.py starts its own Xvfb per screen size). Installs Xvfb only if missing.
# Used by .ci/run.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if command -v Xvfb >/dev/null 2>&1; then
    echo "Xvfb: $(command -v Xvfb)"
    exit 0
fi
echo "apt: installing xvfb"
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends xvfb

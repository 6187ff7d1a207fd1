#!/usr/bin/env bash
# The browser the HTML report's test renders the page in: Debian's chromium, driven headless by
# Playwright's Python package through executable_path (Playwright never downloads a browser here).
# Installs it (and a font for the page's text) only if missing. Used by .ci/run.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    echo "chromium: $(command -v chromium || command -v chromium-browser)"
    exit 0
fi
echo "apt: installing chromium"
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core

"""Headless Debian chromium driven by Playwright, for the browser tests (no browser is downloaded).

Under CI=true a missing Playwright or chromium fails the test instead of skipping it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from conftest import in_ci

# --no-sandbox: CI runs as root, where chromium's sandbox refuses to start; the rest keep chromium
# from reaching out on its own, so any request a test sees came from the page
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-quic"]  # fmt: skip


def chromium_path() -> str | None:
    for candidate in (os.environ.get("FORMCHECK_CHROMIUM"), "chromium", "chromium-browser"):
        found = candidate and shutil.which(candidate)
        if found:
            return found
    return None


def unavailable(why: str) -> None:
    if in_ci():
        pytest.fail(f"{why} (CI=true: the browser test must run)")
    pytest.skip(why)


@contextmanager
def launched_browser(*extra_args: str) -> Iterator:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[test]')")
    path = chromium_path()
    if path is None:
        unavailable("no chromium on PATH (apt-get install chromium; .ci/run does)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, headless=True, args=[*ARGS, *extra_args])
        try:
            yield b
        finally:
            b.close()

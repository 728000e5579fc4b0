"""A real JupyterLab, started as ``make lab`` starts it, and headless Debian Chromium driven by Playwright.

Everything a test run touches lives in one temporary folder: a copy of
``labs/``, the tutor's ``$SOCRATIQ_HOME``, JupyterLab's settings and
workspaces, Chromium's profile and crash reports. The server is the only
process started here besides the browser, and it is the only one stopped.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_harness import CHROMIUM_FLAGS, SHOTS, Lab, serve
from playwright.sync_api import BrowserContext, Page, sync_playwright

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def e2e_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def shots(e2e_dir: Path) -> Path:
    folder = e2e_dir / "screenshots"
    folder.mkdir()
    return folder


@pytest.fixture(scope="module")
def lab(e2e_dir: Path) -> Iterator[Lab]:
    """JupyterLab via this repository's ``make lab``, on a copy of labs/."""
    run = Path(tempfile.mkdtemp(prefix="lab-", dir=e2e_dir))
    shutil.copytree(
        REPO / "labs", run / "labs", ignore=shutil.ignore_patterns("models", "__pycache__", ".ipynb_checkpoints")
    )
    with serve(REPO, run / "labs", run) as lab:
        yield lab


@pytest.fixture(scope="module")
def browser(e2e_dir: Path) -> Iterator[BrowserContext]:
    """Headless Debian Chromium with a fresh profile, its crash reports and config kept in the run's folder.

    Module-scoped, like the server: Playwright's sync API holds an asyncio loop on the main thread while it
    runs, which would break every later test that calls ``asyncio.run``.
    """
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is not installed: run `make test`, which installs it, or apt install chromium")
    home = e2e_dir / "chromium-home"
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
    }
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(e2e_dir / f"chromium-profile-{uuid.uuid4().hex[:8]}"),
            executable_path=chromium,
            headless=True,
            env=env,
            args=[*CHROMIUM_FLAGS, f"--crash-dumps-dir={home / 'crashes'}"],
            viewport={"width": 1400, "height": 1000},
        )
        yield context
        context.close()


@pytest.fixture
def page(browser: BrowserContext, lab: Lab) -> Iterator[Page]:
    """A new tab for each test, and no kernel left behind for the next one."""
    page = browser.new_page()
    yield page
    page.close()
    lab.end_sessions()


def pytest_terminal_summary(terminalreporter):
    if SHOTS:
        terminalreporter.write_line(f"e2e screenshots ({len(SHOTS)}): {SHOTS[0].parent}")
        for shot in SHOTS:
            terminalreporter.write_line(f"  {shot.name}")

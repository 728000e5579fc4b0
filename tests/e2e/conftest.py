"""A real JupyterLab, started as ``make lab`` starts it, and headless Debian Chromium driven by Playwright.

Everything a test run touches lives in one temporary folder: a copy of
``labs/``, the tutor's ``$SOCRATIQ_HOME``, JupyterLab's settings and
workspaces, Chromium's profile and crash reports. The server is the only
process started here besides the browser, and it is the only one stopped.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, sync_playwright

REPO = Path(__file__).resolve().parents[2]
# The harness beside this file, and the tests' LLM server in tests/support
# (tests/ itself must stay off the path: it would shadow the course package).
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(REPO / "tests" / "support"))

from e2e_harness import CHROMIUM_FLAGS, LAB_SETTINGS, SHOTS, Lab  # noqa: E402

START_TIMEOUT_S = 180


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    """JupyterLab via ``make lab``, on a copy of labs/, with a token, a private home and private settings."""
    run = Path(tempfile.mkdtemp(prefix="lab-", dir=e2e_dir))
    root = run / "labs"
    shutil.copytree(REPO / "labs", root, ignore=shutil.ignore_patterns("models", "__pycache__", ".ipynb_checkpoints"))
    settings = run / "lab-settings"
    for plugin, values in LAB_SETTINGS.items():
        file = settings / f"{plugin}.jupyterlab-settings"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(json.dumps(values))
    token, port = secrets.token_hex(16), _free_port()
    home = run / "socratiq"
    env = {**os.environ, "SOCRATIQ_HOME": str(home), "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(run / "workspaces"), "JUPYTER_RUNTIME_DIR": str(run / "runtime"),
           "PYTHONUNBUFFERED": "1"}
    for name in ("SOCRATIQ_BASE_URL", "SOCRATIQ_API_KEY", "OPENAI_API_KEY", "SOCRATIQ_MODEL"):
        env.pop(name, None)
    args = (f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} --ServerApp.port_retries=0 "
            f"--IdentityProvider.token={token} --LabApp.news_url= "
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate")
    server = subprocess.Popen(["make", "-s", "-C", str(REPO), "lab", f"LAB_DIR={root}", f"LAB_ARGS={args}"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    log: list[str] = []
    give_up = threading.Timer(START_TIMEOUT_S, os.killpg, (server.pid, signal.SIGKILL))
    give_up.start()
    ready = False
    for line in server.stdout:  # wait for the line that says it is serving (the timer ends a server that hangs)
        log.append(line)
        if f"127.0.0.1:{port}/lab" in line:
            ready = True
            break
    give_up.cancel()
    if not ready:
        raise RuntimeError("JupyterLab did not start:\n" + "".join(log[-30:]))
    # Keep reading what the server prints, or a full pipe would stall it.
    threading.Thread(target=log.extend, args=(server.stdout,), daemon=True).start()
    try:
        yield Lab(url, token, root, home)
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server make started, and its kernels: nothing else
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


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
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / "config"), "XDG_CACHE_HOME": str(home / "cache")}
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(e2e_dir / f"chromium-profile-{uuid.uuid4().hex[:8]}"), executable_path=chromium, headless=True, env=env,
            args=[*CHROMIUM_FLAGS, f"--crash-dumps-dir={home / 'crashes'}"], viewport={"width": 1400, "height": 1000})
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

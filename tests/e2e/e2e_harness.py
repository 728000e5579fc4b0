"""What the browser tests share: the running JupyterLab, waiting on what it shows, and screenshots."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from playwright.sync_api import Locator, Page, expect

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-breakpad",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
]
# The test's own JupyterLab settings: no kernel-selection dialog, no news or update checks.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"autoStartDefaultKernel": True},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}
SHOTS: list[Path] = []
START_TIMEOUT_S = 180


@dataclass
class Lab:
    """A running JupyterLab: where it serves, with which token, on which files."""

    url: str
    token: str
    root: Path
    socratiq_home: Path

    def open(self, page: Page, path: str, workspace: str) -> None:
        """Open ``path`` in a fresh workspace, and wait for its kernel to be idle."""
        page.goto(f"{self.url}/lab/workspaces/{workspace}/tree/{path}?reset&token={self.token}")
        expect(page.locator(".jp-NotebookPanel").first).to_be_visible(timeout=60_000)
        wait_idle(page)

    def end_sessions(self) -> None:
        """Shut every kernel down, so the next test starts from a fresh one."""
        api = f"{self.url}/api/sessions"
        headers = {"Authorization": f"token {self.token}"}
        for session in requests.get(api, headers=headers, timeout=30).json():
            requests.delete(f"{api}/{session['id']}", headers=headers, timeout=30)


@contextmanager
def serve(checkout: Path, root: Path, run: Path) -> Iterator[Lab]:
    """JupyterLab started as a student starts it, ``make lab`` in ``checkout``, serving ``root``.

    It listens on 127.0.0.1 with a random token; the tutor's home, JupyterLab's settings, workspaces and
    runtime files live in ``run``. Only the process group started here is stopped afterwards.
    """
    settings = run / "lab-settings"
    for plugin, values in LAB_SETTINGS.items():
        file = settings / f"{plugin}.jupyterlab-settings"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(json.dumps(values))
    token, port = secrets.token_hex(16), _free_port()
    home = run / "socratiq"
    env = {
        **os.environ,
        "SOCRATIQ_HOME": str(home),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(run / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(run / "runtime"),
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("SOCRATIQ_BASE_URL", "SOCRATIQ_API_KEY", "OPENAI_API_KEY", "SOCRATIQ_MODEL", "VIRTUAL_ENV"):
        env.pop(name, None)
    args = (
        f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} --ServerApp.port_retries=0 "
        f"--IdentityProvider.token={token} --LabApp.news_url= "
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"
    )
    server = subprocess.Popen(
        ["make", "-s", "-C", str(checkout), "lab", f"LAB_DIR={root}", f"LAB_ARGS={args}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    log: list[str] = []
    give_up = threading.Timer(START_TIMEOUT_S, os.killpg, (server.pid, signal.SIGKILL))
    give_up.start()
    ready = False
    for line in server.stdout:  # wait for the line that says it is serving (the timer ends a server that hangs)
        log.append(line)
        if f"127.0.0.1:{port}/lab" in line:
            ready = True
            break
    # Keep reading what the server prints, or a full pipe would stall it.
    threading.Thread(target=log.extend, args=(server.stdout,), daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    ready = ready and _answers(f"{url}/api/status", token, until=time.monotonic() + START_TIMEOUT_S)
    give_up.cancel()
    if not ready:
        raise RuntimeError("JupyterLab did not start:\n" + "".join(log[-30:]))
    try:
        yield Lab(url, token, root, home)
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server make started, and its kernels: nothing else
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def _answers(url: str, token: str, until: float) -> bool:
    """Whether the server answers ``url`` before ``until``: it prints its address a moment before it accepts."""
    while time.monotonic() < until:
        try:
            return requests.get(url, headers={"Authorization": f"token {token}"}, timeout=10).ok
        except requests.ConnectionError:
            time.sleep(0.5)
    return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_idle(page: Page, timeout: int = 120_000) -> None:
    """The status bar's kernel text: honest, unlike the execution indicator before a kernel exists."""
    expect(page.locator(".jp-StatusBar-Widget", has_text=re.compile(r"\| Idle"))).to_have_count(1, timeout=timeout)


def shoot(page: Page, name: str, shots: Path, focus: Locator | None = None) -> Path:
    """Save what the student sees, with ``focus`` (what the flow is about) scrolled into view."""
    if focus is not None:
        focus.scroll_into_view_if_needed()
    path = shots / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    SHOTS.append(path)
    return path

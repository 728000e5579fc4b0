"""What the browser tests share: the running JupyterLab, waiting on what it shows, and screenshots."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import requests
from playwright.sync_api import Locator, Page, expect

CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
    "--disable-breakpad", "--disable-features=Translate,OptimizationHints,MediaRouter",
]
# The test's own JupyterLab settings: no kernel-selection dialog, no news or update checks.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"autoStartDefaultKernel": True},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}
SHOTS: list[Path] = []


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

"""The class hub of ``deploy/hub``, run for a test: real Unix users, the real hub and proxy, on 127.0.0.1.

Everything is made with the deploy's own tool, ``hubctl.py`` (its ``users`` and ``start``),
in folders of the test's own: the users' homes, the exchange and the hub's state. The users
are removed afterwards with their homes and processes, and the hub's process group is stopped.
"""

from __future__ import annotations

import csv
import grp
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
HUBCTL = REPO / "deploy" / "hub" / "hubctl.py"
START_TIMEOUT_S = 120
GROUPS = ("msl-students", "msl-instructors")  # hubctl.py's, for students and instructors
RUNUSER = shutil.which("runuser") or "/usr/sbin/runuser"  # looked up on the test's PATH, not the user's


@dataclass
class User:
    name: str
    role: str
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))

    @property
    def home(self) -> Path:
        return Path(pwd.getpwnam(self.name).pw_dir)

    def run(self, *command: str | Path, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
        """``command`` as this user (``runuser``), from their home, with ``env`` (what the hub gives them)."""
        user_env = {**env, "HOME": str(self.home), "USER": self.name, "LOGNAME": self.name}
        return subprocess.run(
            [RUNUSER, "-u", self.name, "--", *map(str, command)],
            cwd=self.home,
            env=user_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


@dataclass
class Hub:
    url: str
    settings: dict[str, str]
    users: dict[str, User]
    base: Path
    log: list[str]

    @property
    def exchange(self) -> Path:
        return Path(self.settings["MSL_EXCHANGE"])

    def environment(self, user: User) -> dict[str, str]:
        """The environment the hub gave ``user``'s running JupyterLab: what its terminal and kernels run with."""
        uid = pwd.getpwnam(user.name).pw_uid
        for process in Path("/proc").iterdir():
            try:
                if not process.name.isdigit() or process.stat().st_uid != uid:
                    continue
                if b"jupyterhub-singleuser" not in (process / "cmdline").read_bytes():
                    continue
                pairs = (process / "environ").read_bytes().split(b"\0")
            except OSError:  # the process ended while we looked
                continue
            return dict(pair.decode().split("=", 1) for pair in pairs if b"=" in pair)
        raise AssertionError(f"{user.name} has no JupyterLab running on the hub")


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive free loopback ports (the hub's API, the proxy's, the LLM service's)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = probe.getsockname()[1]
        if first + count < 65535 and all(_free(first + i) for i in range(count)):
            return first
    raise RuntimeError("no run of free loopback ports")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@contextmanager
def interpreter_reachable() -> Iterator[None]:
    """Let other users reach ``.venv``'s interpreter for the test's duration, as a system Python would be.

    A hub runs the course's environment as every user; ``hubctl.py`` refuses one whose interpreter
    lies behind a private folder (a pyenv Python under ``/root``, as on the CI machine). A hub is
    installed with a system Python; the test instead opens the private folders on that path for
    traversal only (``o+x``, no listing) and restores their modes afterwards.
    """
    interpreter = (REPO / ".venv" / "bin" / "python").resolve()
    closed = [folder for folder in interpreter.parents if not folder.stat().st_mode & stat.S_IXOTH]
    modes = {folder: folder.stat().st_mode for folder in closed}
    try:
        for folder, mode in modes.items():
            folder.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
        yield
    finally:
        for folder, mode in modes.items():
            folder.chmod(stat.S_IMODE(mode))


@contextmanager
def class_hub(roles: dict[str, str], extra_settings: dict[str, str] | None = None) -> Iterator[Hub]:
    """A running hub with one Unix user per ``roles`` entry (name -> student | instructor)."""
    base = Path(tempfile.mkdtemp(prefix="msl-hub-"))
    base.chmod(0o755)  # the users' homes lie below it
    users = {name: User(name, role) for name, role in roles.items()}
    public, internal = free_ports(1), free_ports(3)
    settings = {
        "MSL_HUB_URL": f"http://127.0.0.1:{public}",
        "MSL_HUB_INTERNAL_PORT": str(internal),
        "MSL_HUB_STATE": str(base / "state"),
        "MSL_EXCHANGE": str(base / "exchange"),
        "MSL_HOME_ROOT": str(base / "home"),
        "MSL_IDLE_TIMEOUT": "3600",
        **(extra_settings or {}),
    }
    (base / "home").mkdir(mode=0o755)
    (base / "state").mkdir(mode=0o700)
    (base / "exchange").mkdir()
    (base / "exchange").chmod(0o1777)
    roster = base / "roster.csv"
    with roster.open("w", newline="") as handle:
        csv.writer(handle).writerows([user.name, user.role, user.password] for user in users.values())
    env = {**os.environ, **settings}
    log: list[str] = []
    with ExitStack() as cleanup:  # undone in reverse: the hub, the users, the folders, the interpreter's access
        cleanup.enter_context(interpreter_reachable())
        cleanup.callback(subprocess.run, ["rm", "-rf", str(base)], check=False)
        for group in GROUPS:
            if not _group_exists(group):  # made by hubctl.py for this test: removed with it
                cleanup.callback(subprocess.run, ["groupdel", group], check=False)
        for user in users.values():
            cleanup.callback(subprocess.run, [sys.executable, HUBCTL, "remove-user", user.name], env=env)
        added = subprocess.run([sys.executable, HUBCTL, "users", roster], env=env, capture_output=True, text=True)
        assert added.returncode == 0, f"hubctl.py users failed:\n{added.stdout}\n{added.stderr}"
        hub = subprocess.Popen(
            [sys.executable, HUBCTL, "start"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        cleanup.callback(_stop, hub)
        threading.Thread(target=log.extend, args=(hub.stdout,), daemon=True).start()
        url = settings["MSL_HUB_URL"]
        if not _healthy(f"{url}/hub/health", hub, until=time.monotonic() + START_TIMEOUT_S):
            raise RuntimeError("the hub did not start:\n" + "".join(log[-40:]))
        yield Hub(url, settings, users, base, log)


def _group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def _healthy(url: str, hub: subprocess.Popen, until: float) -> bool:
    while time.monotonic() < until and hub.poll() is None:
        try:
            if requests.get(url, timeout=5).ok:
                return True
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    return False


def _stop(hub: subprocess.Popen) -> None:
    """SIGTERM lets the hub stop the users' servers it spawned; its process group (the proxy) goes after."""
    hub.send_signal(signal.SIGTERM)
    try:
        hub.wait(timeout=60)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(hub.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass

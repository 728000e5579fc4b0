"""The class hub on one machine: ``install`` it, add the class's ``users``, ``start`` it (run as root).

    sudo python3 deploy/hub/hubctl.py install            # the course's environment, the proxy, groups, folders
    sudo python3 deploy/hub/hubctl.py users roster.csv   # name,role[,password] per line; role: student|instructor
    sudo python3 deploy/hub/hubctl.py start              # JupyterHub on MSL_HUB_URL (default http://0.0.0.0:8000)

(``sudo make hub`` runs ``install`` and ``start``.) Students and instructors are Unix users, each with a
private home; JupyterHub signs them in with their Unix password (PAM) and starts each one's JupyterLab
as that user. Students get nbgrader's Assignments tab; instructors also get Formgrader, and a clone of
this course in their home (``~/ml-systems-labs``) that ``python -m grader`` works on. Every setting is
one environment variable, declared once in :data:`SETTINGS` with its help; ``jupyterhub_config.py``
reads them through :func:`setting`. Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import csv
import grp
import importlib.util
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
VENV = REPO / ".venv"
PROXY = REPO / "deploy" / "node_modules" / ".bin" / "configurable-http-proxy"
GROUPS = {"student": "msl-students", "instructor": "msl-instructors"}
COURSE_CLONE = "ml-systems-labs"  # the instructor's own clone of the course, in their home

SETTINGS = {
    "MSL_HUB_URL": ("http://0.0.0.0:8000", "where students open the hub (the proxy's public address)"),
    "MSL_HUB_INTERNAL_PORT": (
        "8081",
        "loopback port of the hub's API; the proxy's API takes the next port, the tutor's LLM service the one after",
    ),
    "MSL_HUB_STATE": ("/srv/ml-systems-labs", "the hub's database, cookie secret and logs (root only)"),
    "MSL_EXCHANGE": ("/srv/nbgrader/exchange", "nbgrader's exchange, shared by the class (mode 1777)"),
    "MSL_HOME_ROOT": ("/home", "where `users` creates each user's home"),
    "MSL_IDLE_TIMEOUT": ("3600", "seconds after which an idle JupyterLab is stopped (its files stay)"),
    "MSL_LLM_URL": ("", "the class's OpenAI-compatible LLM server for the tutor (empty: the tutor stays offline)"),
    "MSL_LLM_MODEL": ("", "the model the tutor asks for on that server"),
    "MSL_LLM_KEY_FILE": ("", "a root-only file holding that server's API key; students never see it"),
}


class Stop(Exception):
    """A step that cannot go on; the message says what to do."""


def setting(name: str) -> str:
    """A hub setting: its environment variable, else its default."""
    default, _ = SETTINGS[name]
    return os.environ.get(name) or default


def install() -> None:
    """The course's environment with the hub (``.venv``), the proxy, the two groups and the shared folders."""
    require_root()
    missing = [package for package, present in system_packages().items() if not present]
    if missing:
        if shutil.which("apt-get") is None:
            raise Stop(f"install {', '.join(missing)} with this system's package manager, then run install again")
        run("apt-get", "install", "-y", "-q", *missing)
    run(sys.executable, str(REPO / "run.py"), "install")  # .venv with the course, its tests and the hub extra
    run("npm", "ci", "--prefix", str(REPO / "deploy"), "--no-audit", "--no-fund", "--loglevel=error")
    for group in GROUPS.values():
        ensure_group(group)
    state = Path(setting("MSL_HUB_STATE"))
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o700)
    exchange = Path(setting("MSL_EXCHANGE"))
    exchange.mkdir(parents=True, exist_ok=True)
    exchange.chmod(0o1777)  # everyone writes, nobody removes another's files; nbgrader narrows each course folder
    require_reachable()
    print(f"installed: the hub's state in {state}, the exchange in {exchange}; next: hubctl.py users ROSTER")


def system_packages() -> dict[str, bool]:
    """The Debian packages the hub needs beside Python, and whether each is there."""
    return {
        "npm": shutil.which("npm") is not None,  # the proxy, configurable-http-proxy
        "git": shutil.which("git") is not None,  # each instructor's clone of the course
        "python3-venv": importlib.util.find_spec("ensurepip") is not None,  # Debian's Python makes no venv without it
    }


def ensure_group(name: str) -> None:
    try:
        grp.getgrnam(name)
    except KeyError:
        run("groupadd", "--system", name)


def add_user(name: str, role: str, password: str | None) -> None:
    """A Unix user in the role's group, with a private home; an instructor also gets a clone of the course."""
    require_root()
    if role not in GROUPS:
        raise Stop(f"{name}: role {role!r} is neither student nor instructor")
    ensure_group(GROUPS[role])
    home = Path(setting("MSL_HOME_ROOT")) / name
    try:
        pwd.getpwnam(name)
    except KeyError:
        run("useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/bash", "-G", GROUPS[role], name)
    else:
        run("usermod", "-a", "-G", GROUPS[role], name)
        home = Path(pwd.getpwnam(name).pw_dir)
    home.chmod(0o700)  # Debian's useradd leaves homes readable by everyone
    if password:
        if subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True).returncode != 0:
            raise Stop(f"{name}: chpasswd refused the password (see above)")
    if role == "instructor" and not (home / COURSE_CLONE).exists():
        # Copied, not hard-linked, so that handing every file to the instructor leaves this repository's alone.
        run("git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(home / COURSE_CLONE))
        run("chown", "-R", f"{name}:", str(home / COURSE_CLONE))


def add_users(roster: Path) -> int:
    """Every ``name,role[,password]`` line of a CSV roster; returns how many."""
    rows = [row for row in csv.reader(roster.open()) if row and not row[0].startswith("#")]
    for row in rows:
        name, role, password = (row + [""])[:3]
        add_user(name.strip(), role.strip(), password.strip() or None)
    return len(rows)


def remove_user(name: str) -> None:
    """The user, their home and their processes (the hub test's clean-up; a term's end)."""
    require_root()
    subprocess.run(["pkill", "-KILL", "-u", name], check=False)
    run("userdel", "--remove", name)


def start(extra: list[str]) -> None:
    """JupyterHub with this folder's configuration, in place of this process."""
    require_root()
    if not PROXY.is_file():
        raise Stop("the hub's proxy is not installed: run `hubctl.py install` first")
    require_reachable()
    state = Path(setting("MSL_HUB_STATE"))
    if not state.is_dir():
        raise Stop(f"the hub's state folder {state} does not exist: run `hubctl.py install` first")
    hub = VENV / "bin" / "jupyterhub"
    os.chdir(state)
    os.execv(hub, [str(hub), "-f", str(HERE / "jupyterhub_config.py"), *extra])


def require_reachable() -> None:
    """Every user's JupyterLab runs ``.venv``'s Python: an unprivileged user must be able to start it."""
    python = VENV / "bin" / "python"
    probe = ["runuser", "-u", "nobody", "--", str(python), "-c", "import jupyterhub"]
    if subprocess.run(probe, capture_output=True).returncode != 0:
        raise Stop(
            f"users cannot run {python} (it is {python.resolve()}, behind a folder only its owner may enter): "
            "remove .venv and run `sudo /usr/bin/python3 deploy/hub/hubctl.py install` with a system Python"
        )


def require_root() -> None:
    if os.geteuid() != 0:
        raise Stop("the hub runs users' servers as those users: run this as root (sudo)")


def run(*command: str) -> None:
    if subprocess.run(command).returncode != 0:
        raise Stop(f"`{' '.join(command)}` failed (see above)")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="hubctl.py",
        description=__doc__.split("\n\n")[0],
        epilog="settings (environment variables): "
        + "; ".join(f"{name}: {what} (default {default or 'none'})" for name, (default, what) in SETTINGS.items()),
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("install", help="install the hub: environment, proxy, groups, state and exchange folders")
    users = commands.add_parser("users", help="add the users of a CSV roster: name,role[,password]")
    users.add_argument("roster", type=Path)
    remove = commands.add_parser("remove-user", help="remove a user, their home and their processes")
    remove.add_argument("name")
    hub = commands.add_parser("start", help="run JupyterHub (extra arguments go to jupyterhub)")
    hub.add_argument("extra", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    try:
        if args.command == "install":
            install()
        elif args.command == "users":
            print(f"added {add_users(args.roster)} users")
        elif args.command == "remove-user":
            remove_user(args.name)
        else:
            start(args.extra)
    except Stop as stop:
        print(f"hubctl.py: {stop}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The course's two commands, with nothing but Python: ``python run.py lab`` and ``python run.py test``.

``make lab`` and ``make test`` call this script, so a laptop without ``make`` (Windows) runs the very
same steps: check the Python version, create ``.venv`` and install the project into it whenever
``pyproject.toml`` changed, then open JupyterLab on ``labs/`` or run the test suite. In the student
edition (no ``solutions/``), installing also switches nbgrader's instructor tools off; in the
instructor's repository, ``test`` first runs ruff (lint and format check) and makes sure of the Linux
packages the grader's sandbox and the browser tests use. Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".installed"
PYTHONS = ((3, 11), (3, 12))  # the versions every dependency has wheels for (nbgrader 0.9.6 needs 3.11)
EDITION = not (ROOT / "solutions").is_dir()  # the student edition ships no solutions
# nbgrader's instructor tools (Create Assignment, Formgrader, Courses) stay off in the edition.
INSTRUCTOR_PLUGINS = (
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:course-list",
)
INSTRUCTOR_SERVER = ("nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.course_list")
# What the instructor's suite needs beside Python: bubblewrap (the grader's sandbox) and chromium (the
# browser tests drive it with Playwright; `playwright install` cannot download here).
SYSTEM_PACKAGES = {"bwrap": "bubblewrap", "chromium": "chromium", "npm": "npm"}
# The class hub's proxy (configurable-http-proxy, from npm), pinned by deploy/package-lock.json.
HUB_PROXY = ROOT / "deploy" / "node_modules" / ".bin" / "configurable-http-proxy"


class Stop(Exception):
    """A step that cannot go on; the message says what to do."""


def python() -> Path:
    """The virtual environment's interpreter."""
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def check_python() -> None:
    version = sys.version_info[:2]
    if not PYTHONS[0] <= version <= PYTHONS[1]:
        launcher = "py -3.11" if os.name == "nt" else "python3.11"
        raise Stop(f"Python 3.11-3.12 is needed, found {version[0]}.{version[1]}: run `{launcher} run.py ...`")


def install() -> None:
    """Create ``.venv`` and install the project, unless it is already installed from this pyproject.toml."""
    pyproject = ROOT / "pyproject.toml"
    if STAMP.is_file() and STAMP.stat().st_mtime >= pyproject.stat().st_mtime:
        return
    if not python().is_file():
        check_python()  # the environment gets this interpreter's version
        run(sys.executable, "-m", "venv", str(VENV))
    run(python(), "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(python(), "-m", "pip", "install", "--quiet", "--editable", ".[test]")
    if EDITION:
        jupyter = (python(), "-m", "jupyter")
        run(*jupyter, "labextension", "disable", "--level=sys_prefix", *INSTRUCTOR_PLUGINS, env=activated())
        for extension in INSTRUCTOR_SERVER:
            run(*jupyter, "server", "extension", "disable", "--sys-prefix", extension, env=activated())
    STAMP.touch()


def system_packages() -> None:
    """Install bubblewrap and chromium with apt-get when they are missing and this is root on Debian."""
    missing = [package for command, package in SYSTEM_PACKAGES.items() if shutil.which(command) is None]
    if not missing:
        return
    if not sys.platform.startswith("linux"):
        raise Stop(f"the instructor's suite needs Linux ({', '.join(missing)}): run it in the dev container")
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise Stop(f"the test suite needs {', '.join(missing)}: sudo apt-get install {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(["apt-get", "install", "-y", "-q", *missing], env=env).returncode != 0:
        run("apt-get", "update", "-q", env=env)
        run("apt-get", "install", "-y", "-q", *missing, env=env)


def hub_proxy() -> None:
    """Install the hub's proxy from deploy/package-lock.json, unless the installed one is that lock's."""
    installed = ROOT / "deploy" / "node_modules" / ".package-lock.json"
    lock = ROOT / "deploy" / "package-lock.json"
    if HUB_PROXY.is_file() and installed.is_file() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise Stop("the hub's proxy needs Node.js and npm: sudo apt-get install npm")
    run(npm, "ci", "--prefix", "deploy", "--no-audit", "--no-fund", "--loglevel=error")


def lab(args: list[str], lab_dir: str = "labs") -> None:
    """Open JupyterLab on the labs (as root, e.g. in a container, Jupyter must be told it may)."""
    install()
    root = ["--allow-root"] if os.name != "nt" and os.geteuid() == 0 else []
    replace_process(python(), "-m", "jupyter", "lab", f"--ServerApp.root_dir={lab_dir}", *root, *args, env=activated())


def test(args: list[str]) -> None:
    """The test suite: the whole course here, this machine's checks in the student edition."""
    install()
    if not EDITION:
        lint()
        system_packages()
        hub_proxy()
    replace_process(python(), "-m", "pytest", *args, env=activated())


def lint() -> None:
    """ruff's checks and formatting, as pyproject.toml configures them: seconds, so before the suite's minutes."""
    try:
        run(python(), "-m", "ruff", "check", ".")
        run(python(), "-m", "ruff", "format", "--check", ".")
    except Stop:
        raise Stop(
            "ruff found the problems above: `.venv/bin/ruff format .` fixes the formatting, "
            "`.venv/bin/ruff check --fix .` what it can of the rest"
        ) from None


def run(*command: str | Path, env: dict | None = None) -> None:
    if subprocess.run([str(part) for part in command], cwd=ROOT, env=env).returncode != 0:
        raise Stop(f"`{' '.join(map(str, command))}` failed (see above)")


def activated() -> dict[str, str]:
    """The environment as ``activate`` leaves it: ``.venv``'s scripts first on PATH.

    ``python -m jupyter X`` runs the first ``jupyter-X`` on PATH, so without this another environment's
    Jupyter (a conda base, or the instructor's ``.venv`` around a student's clone in the tests) would be
    the one configured or started.
    """
    return {
        **os.environ,
        "VIRTUAL_ENV": str(VENV),
        "PATH": str(python().parent) + os.pathsep + os.environ.get("PATH", ""),
    }


def replace_process(*command: str | Path, env: dict[str, str]) -> None:
    """Run the command in place of this process, so that Ctrl-C and signals reach it directly; Windows
    has no exec that keeps the console, so there the command runs as a child and its status is ours."""
    command = [str(part) for part in command]
    os.chdir(ROOT)
    if os.name == "nt":
        sys.exit(subprocess.run(command, env=env).returncode)
    os.execve(command[0], command, env)


COMMANDS = {"lab": "open JupyterLab on the labs", "test": "run the test suite", "install": "only install"}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print("usage: python run.py lab|test|install [arguments for jupyter lab or pytest]")
        for name, what in COMMANDS.items():
            print(f"  {name:8} {what}")
        return 2
    command, args = argv[0], argv[1:]
    try:
        if command == "install":
            install()
        elif command == "lab":
            lab(args, os.environ.get("LAB_DIR", "labs"))
        else:
            test(args)
    except Stop as stop:
        print(f"run.py: {stop}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

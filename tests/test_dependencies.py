"""The course installs where students are: every dependency resolves to wheels on each platform.

pip's own resolver (``pip install --dry-run --only-binary=:all: --platform ... --python-version ...``,
nothing installed) resolves the project's dependencies with the test extra, as ``run.py install``
installs them, for macOS on Apple silicon, Windows x86-64 and Linux x86-64, on every Python the project
accepts. It reads the package index: a failure names the package that has no wheel there.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
RESOLVE = REPO / "tests" / "support" / "resolve_for.py"
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
# Linux: a glibc 2.28 machine (Debian 10, Ubuntu 20.04 and later) takes every manylinux tag up to 2.28; pip
# expands a macOS tag to older macOS versions itself, but not a manylinux one.
MANYLINUX = [f"manylinux_2_{minor}_x86_64" for minor in range(28, 4, -1)] + [
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
]
# The wheel tags pip is given, and the platform's markers.
PLATFORMS = {
    "macOS arm64": (
        ["macosx_14_0_arm64"],
        {"os_name": "posix", "platform_machine": "arm64", "platform_system": "Darwin", "sys_platform": "darwin"},
    ),
    "Windows x86-64": (
        ["win_amd64"],
        {"os_name": "nt", "platform_machine": "AMD64", "platform_system": "Windows", "sys_platform": "win32"},
    ),
    "Linux x86-64": (
        MANYLINUX,
        {"os_name": "posix", "platform_machine": "x86_64", "platform_system": "Linux", "sys_platform": "linux"},
    ),
}
PYTHONS = [v for v in ("3.10", "3.11", "3.12", "3.13") if v + ".0" in SpecifierSet(PROJECT["requires-python"])]


def resolve(platform: str, python: str, folder: Path) -> tuple[int, str, dict | None]:
    tags, markers = PLATFORMS[platform]
    environment = {
        **markers,
        "implementation_name": "cpython",
        "implementation_version": f"{python}.0",
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_version": "",
        "python_full_version": f"{python}.0",
        "python_version": python,
    }
    report = folder / f"{tags[0]}-{python}.json"
    requirements = with_extra("test")
    result = subprocess.run(
        [
            sys.executable,
            str(RESOLVE),
            json.dumps(environment),
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--only-binary=:all:",
            *(f"--platform={tag}" for tag in tags),
            "--python-version",
            python,
            "--implementation",
            "cp",
            "--target",
            str(folder / "target"),
            "--report",
            str(report),
            *requirements,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    errors = "\n".join(line for line in result.stderr.splitlines() if line.startswith("ERROR"))
    return result.returncode, errors, json.loads(report.read_text()) if report.is_file() else None


def with_extra(extra: str) -> list[str]:
    """The project's dependencies with ``extra``, its mentions of the project's own extras expanded (as pip does)."""
    own, extras = canonicalize_name(PROJECT["name"]), PROJECT["optional-dependencies"]
    requirements, pending, seen = list(PROJECT["dependencies"]), [extra], set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        for line in extras[name]:
            requirement = Requirement(line)
            if canonicalize_name(requirement.name) == own:
                pending.extend(requirement.extras)
            else:
                requirements.append(line)
    return requirements


def test_every_dependency_resolves_to_wheels_on_macos_windows_and_linux(tmp_path):
    cases = [(platform, python) for platform in PLATFORMS for python in PYTHONS]
    with ThreadPoolExecutor(3) as pool:  # the index is the bottleneck, not the two cores
        results = dict(zip(cases, pool.map(lambda case: resolve(*case, tmp_path), cases)))
    failed = {
        f"{platform}, Python {python}": errors for (platform, python), (code, errors, _) in results.items() if code
    }
    assert not failed, "\n".join(f"{case}: {errors or 'pip failed'}" for case, errors in failed.items())
    for (platform, python), (_, _, report) in results.items():
        names = {canonicalize_name(item["metadata"]["name"]) for item in report["install"]}
        assert {"tensorflow", "ai-edge-litert", "jupyterlab", "nbgrader", "pytest"} <= names, (platform, python)
        assert ("tflite-micro" in names) == (platform == "Linux x86-64"), f"{platform}: tflite-micro's marker"

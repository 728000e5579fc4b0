"""``run.py``: the two commands without make, the steps ``make lab`` and ``make test`` run."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def load_run(root: Path):
    """run.py as if it lay in ``root`` (a copy, so that its idea of the course is root's)."""
    (root / "run.py").write_bytes((REPO / "run.py").read_bytes())
    spec = importlib.util.spec_from_file_location(f"run_{root.name}", root / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def calls() -> list[list[str]]:
    return []


def steps(module, monkeypatch, calls: list[list[str]]) -> None:
    """Record every command run.py would run instead of running it (``venv`` makes its folder)."""

    def record(*command, env=None):
        calls.append([str(c) for c in command])
        if "venv" in calls[-1]:
            module.python().parent.mkdir(parents=True)
            module.python().touch()

    monkeypatch.setattr(module, "run", record)


def test_without_a_command_it_prints_its_usage():
    result = subprocess.run([sys.executable, str(REPO / "run.py")], capture_output=True, text=True)
    assert result.returncode == 2 and "python run.py lab|test|install" in result.stdout


def test_install_makes_the_environment_and_installs_the_project(tmp_path, monkeypatch, calls):
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    (tmp_path / "solutions").mkdir()
    run = load_run(tmp_path)
    steps(run, monkeypatch, calls)
    run.install()
    assert calls[0] == [sys.executable, "-m", "venv", str(tmp_path / ".venv")]
    assert calls[-1][-4:] == ["install", "--quiet", "--editable", ".[test]"]
    assert not any("labextension" in call for call in calls), "the instructor keeps nbgrader's instructor tools"
    assert run.STAMP.is_file()

    calls.clear()
    run.install()
    assert calls == [], "installed from this pyproject.toml already: nothing to do"
    os.utime(tmp_path / "pyproject.toml", (run.STAMP.stat().st_mtime + 10,) * 2)
    run.install()
    assert calls[-1][-1] == ".[test]" and not any("venv" in call for call in calls), "installed again, same .venv"


def test_the_student_edition_switches_the_instructor_tools_off(tmp_path, monkeypatch, calls):
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    run = load_run(tmp_path)  # no solutions/: the edition
    steps(run, monkeypatch, calls)
    paths = []
    recorded = run.run
    monkeypatch.setattr(run, "run", lambda *c, env=None: (paths.append((env or {}).get("PATH")), recorded(*c)))
    run.install()
    disabled = [call for call in calls if "disable" in call]
    assert any("@jupyter/nbgrader:formgrader" in call for call in disabled)
    assert any("nbgrader.server_extensions.course_list" in call for call in disabled)
    # `jupyter X` runs the first jupyter-X on PATH: the clone's own, or another environment would be switched off.
    switched = [path for call, path in zip(calls, paths) if "disable" in call]
    assert switched and all(path.split(os.pathsep)[0] == str(run.python().parent) for path in switched)


def test_an_unsupported_python_is_named_with_the_command_to_use(tmp_path, monkeypatch):
    run = load_run(tmp_path)
    monkeypatch.setattr(run.sys, "version_info", (3, 13, 0))
    with pytest.raises(run.Stop, match=r"Python 3.11-3.12 is needed, found 3.13"):
        run.check_python()


def test_the_instructor_s_test_lints_before_the_suite(tmp_path, monkeypatch, calls):
    (tmp_path / "solutions").mkdir()
    run = load_run(tmp_path)
    steps(run, monkeypatch, calls)
    for step in ("install", "system_packages", "hub_proxy"):
        monkeypatch.setattr(run, step, lambda: None)
    monkeypatch.setattr(run, "replace_process", lambda *command, env: calls.append(["replaced", *map(str, command)]))
    run.test(["-x"])
    assert [call[2:4] for call in calls[:2]] == [["ruff", "check"], ["ruff", "format"]]
    assert calls[-1][-3:] == ["-m", "pytest", "-x"]


def test_a_lint_failure_stops_before_the_suite_and_says_what_fixes_it(tmp_path, monkeypatch):
    (tmp_path / "solutions").mkdir()
    run = load_run(tmp_path)

    def fail(*command, env=None):
        raise run.Stop("`ruff check .` failed (see above)")

    monkeypatch.setattr(run, "run", fail)
    with pytest.raises(run.Stop, match="ruff format"):
        run.lint()

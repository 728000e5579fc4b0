"""Every instructor mistake gets one line that says what to do, and exit status 2."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from grader_cli import run_grader


def grader(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return run_grader("--course-dir", tmp_path / "state", *args, timeout=120)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["autograde", "{tmp}/nowhere", "--lab", "lab01_data"], "does not exist: give a folder"),
        (
            ["autograde", "{tmp}", "--lab", "lab99_nothing"],
            "no source notebook for lab99_nothing; labs in solutions/: lab01_data",
        ),
        (["autograde", "{tmp}/broken.zip", "--lab", "lab01_data"], "is neither a folder nor a zip file"),
        (["autograde", "{tmp}", "--lab", "lab01_data", "--student", "ghost"], "no submission of lab01_data by 'ghost'"),
        (["export", "--out", "{tmp}/out.csv"], "no gradebook at"),
        (["feedback"], "no gradebook at"),
    ],
)
def test_one_line_and_status_2(tmp_path: Path, args: list[str], message: str):
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04" + b"\0" * 40)
    result = grader(tmp_path, *(a.format(tmp=tmp_path) for a in args))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if not line.startswith("sandbox:")]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr


def test_course_dir_may_follow_the_command(tmp_path: Path):
    """Instructors type options after the command: ``export --out F --course-dir D`` reads D's gradebook."""
    result = run_grader("export", "--out", tmp_path / "o.csv", "--course-dir", tmp_path / "elsewhere", timeout=120)
    assert result.returncode == 2
    assert f"no gradebook at {tmp_path / 'elsewhere' / 'gradebook.db'}" in result.stderr

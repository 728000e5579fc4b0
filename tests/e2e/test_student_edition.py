"""The student edition, as a student gets it: a fresh clone, its own ``make test`` and ``make lab``.

The instructor publishes the edition with ``python -m grader publish``; a
student clones it and runs the two commands its README names. ``make test``
builds the clone's own environment from its own ``pyproject.toml`` (nothing is
shared with this repository's), runs the student-side tests, and ``make lab``
serves the labs. In the browser, the nbgrader tools a student needs (Validate,
Assignments) are there and the instructor's (Create Assignment, Formgrader,
Courses) are not.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from e2e_harness import Lab, serve, shoot
from playwright.sync_api import Page, expect

REPO = Path(__file__).resolve().parents[2]
INSTALL_AND_TEST_TIMEOUT_S = 1800


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """The edition published from this course, cloned the way a student clones it."""
    root = tmp_path_factory.mktemp("student")
    published = subprocess.run([sys.executable, "-m", "grader", "publish", str(root / "edition")],
                               capture_output=True, text=True, timeout=600, cwd=REPO)
    assert published.returncode == 0, published.stderr
    subprocess.run(["git", "clone", "--quiet", str(root / "edition"), str(root / "clone")], check=True, timeout=120)
    return root / "clone"


@pytest.fixture(scope="module")
def make_test(clone: Path) -> subprocess.CompletedProcess:
    env = {name: value for name, value in __import__("os").environ.items() if name != "VIRTUAL_ENV"}
    return subprocess.run(["make", "-C", str(clone), "test"], capture_output=True, text=True, env=env,
                          timeout=INSTALL_AND_TEST_TIMEOUT_S)


@pytest.fixture(scope="module")
def student_lab(clone: Path, make_test, tmp_path_factory) -> Iterator[Lab]:
    assert make_test.returncode == 0, "the edition's make test must pass before make lab is tried"
    with serve(clone, clone / "labs", tmp_path_factory.mktemp("student-lab")) as lab:
        yield lab


def test_make_test_passes_in_a_fresh_clone(clone: Path, make_test):
    assert make_test.returncode == 0, (make_test.stdout + make_test.stderr)[-4000:]
    summary = make_test.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary) and "failed" not in summary and "error" not in summary, summary
    assert (clone / ".venv" / "bin" / "python").is_file(), "the clone built an environment of its own"


def test_make_lab_serves_the_labs(student_lab: Lab):
    listing = requests.get(f"{student_lab.url}/api/contents", headers={"Authorization": f"token {student_lab.token}"},
                           timeout=30).json()
    labs = sorted(item["name"] for item in listing["content"] if item["type"] == "directory")
    assert labs == sorted(p.name for p in (REPO / "labs").iterdir() if p.is_dir())
    formgrader = requests.get(f"{student_lab.url}/formgrader", params={"token": student_lab.token}, timeout=30)
    assert formgrader.status_code == 404, "the formgrader server extension is off in the student edition"


def test_students_see_validate_and_assignments_not_the_instructor_tools(student_lab: Lab, browser, shots: Path):
    page: Page = browser.new_page()
    try:
        student_lab.open(page, "lab01_data/lab01_data.ipynb", "student-edition")
        expect(page.get_by_role("button", name="Validate")).to_be_visible()
        page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Nbgrader$")).click()
        menu = page.locator(".lm-Menu-content").last
        expect(menu).to_contain_text("Assignment List")
        items = menu.inner_text()
        shoot(page, "student-edition-nbgrader-menu", shots)
        assert "Formgrader" not in items and "Course List" not in items, items
        page.keyboard.press("Escape")
        page.get_by_role("tab", name=re.compile("Property Inspector")).click()
        expect(page.get_by_text("Create Assignment")).to_have_count(0)
    finally:
        page.close()
        student_lab.end_sessions()

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

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from e2e_harness import Lab, serve, shoot
from grader_cli import run_grader
from playwright.sync_api import Page, expect

REPO = Path(__file__).resolve().parents[2]
INSTALL_AND_TEST_TIMEOUT_S = 1800


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """The edition published from this course, cloned the way a student clones it."""
    root = tmp_path_factory.mktemp("student")
    published = run_grader("publish", root / "edition", timeout=600)
    assert published.returncode == 0, published.stderr
    subprocess.run(["git", "clone", "--quiet", str(root / "edition"), str(root / "clone")], check=True, timeout=120)
    return root / "clone"


@pytest.fixture(scope="module")
def make_test(clone: Path) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if name != "VIRTUAL_ENV"}
    return subprocess.run(
        ["make", "-C", str(clone), "test"], capture_output=True, text=True, env=env, timeout=INSTALL_AND_TEST_TIMEOUT_S
    )


@pytest.fixture(scope="module")
def student_lab(clone: Path, make_test, tmp_path_factory) -> Iterator[Lab]:
    assert make_test.returncode == 0, "the edition's make test must pass before make lab is tried"
    with serve(clone, clone / "labs", tmp_path_factory.mktemp("student-lab")) as lab:
        yield lab


def test_make_test_passes_in_a_fresh_clone(clone: Path, make_test):
    assert make_test.returncode == 0, (make_test.stdout + make_test.stderr)[-4000:]
    summary = [line for line in make_test.stdout.splitlines() if re.search(r"\d+ passed", line)]
    assert summary and "failed" not in summary[-1] and "error" not in summary[-1], make_test.stdout[-2000:]
    assert (clone / ".venv" / "bin" / "python").is_file(), "the clone built an environment of its own"


def test_make_lab_serves_the_labs(student_lab: Lab):
    listing = requests.get(
        f"{student_lab.url}/api/contents", headers={"Authorization": f"token {student_lab.token}"}, timeout=30
    ).json()
    labs = sorted(item["name"] for item in listing["content"] if item["type"] == "directory")
    assert labs == sorted(p.name for p in (REPO / "labs").iterdir() if p.is_dir())
    formgrader = requests.get(f"{student_lab.url}/formgrader", params={"token": student_lab.token}, timeout=30)
    assert formgrader.status_code == 404, "the formgrader server extension is off in the student edition"


def nbgrader_tools(lab: Lab, page: Page, shots: Path, name: str, expected: tuple[str, ...] = ()) -> tuple[str, int]:
    """Open Lab 1 and read what nbgrader offers: its menu's items, and how many Create Assignment panels there are."""
    lab.open(page, "lab01_data/lab01_data.ipynb", name)
    expect(page.get_by_role("button", name="Validate")).to_be_visible()
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Nbgrader$")).click()
    menu = page.locator(".lm-Menu-content").last
    # A menu item shows its label once its plugin has activated, which may come after the menu: wait for each.
    for label in ("Assignment List", *expected):
        expect(menu).to_contain_text(label)
    shoot(page, f"{name}-nbgrader-menu", shots)
    items = menu.inner_text()
    page.keyboard.press("Escape")
    return items, page.locator(".jp-SideBar .lm-TabBar-tab[title*='Create Assignment']").count()


def test_students_see_validate_and_assignments_not_the_instructor_tools(student_lab: Lab, browser, shots: Path):
    page: Page = browser.new_page()
    try:
        items, create_panels = nbgrader_tools(student_lab, page, shots, "student-edition")
        assert "Formgrader" not in items and "Course List" not in items, items
        assert create_panels == 0
    finally:
        page.close()
        student_lab.end_sessions()


def test_control_the_instructor_lab_shows_the_instructor_tools(lab: Lab, browser, shots: Path):
    """The same checks on this repository's own JupyterLab find the tools the edition hides."""
    page: Page = browser.new_page()
    try:
        items, create_panels = nbgrader_tools(lab, page, shots, "instructor", ("Formgrader", "Course List"))
        assert "Formgrader" in items and "Course List" in items, items
        assert create_panels == 1
    finally:
        page.close()
        lab.end_sessions()

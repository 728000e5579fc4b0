"""A term on the class hub, in the browser: hand out Lab 1, fetch, answer, validate, submit, grade, feedback.

The hub is ``deploy/hub`` as an instructor runs it (``hubctl.py users`` and ``start``), with an
instructor and two students as real Unix users (created here as root, removed afterwards). The
students work in their own JupyterLab, clicked in headless Chromium: the Assignments tab's Fetch,
their answers typed into the cells (one student answers everything, one only the first two
exercises), the notebook's Validate button, Submit, and later Fetch Feedback. The instructor's
steps are ``python -m grader`` run as the instructor, in the environment the hub gave their
JupyterLab (read from its process), as their JupyterLab terminal would run them. Then each user
tries to read what is not theirs. Every step leaves a screenshot.
"""

from __future__ import annotations

import os
import pwd
import re
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest
from answers import read, solution_answers
from e2e_harness import shoot
from hub_harness import REPO, Hub, User, class_hub
from llm_server import ChatServer
from nbgrader.api import Gradebook
from playwright.sync_api import Page, expect

from grader.cells import grade_id
from grader.layout import Course

if sys.platform != "linux" or os.geteuid() != 0:
    pytest.skip(
        "the class hub test creates Unix users and runs the hub as root: run it as root on Linux (CI does)",
        allow_module_level=True,
    )

LAB = "lab01_data"
TAG = uuid.uuid4().hex[:5]
INSTRUCTOR, FULL, PARTIAL = f"mslteach{TAG}", f"mslamy{TAG}", f"mslben{TAG}"
ANSWERS = solution_answers(read(Course(REPO).solutions, LAB))
CODE_ANSWERS = [name for name in ANSWERS if not name.startswith("lab01-reflect")]
ANSWERED = {FULL: list(ANSWERS), PARTIAL: CODE_ANSWERS[:2]}
WAIT = 180_000
CLASS_KEY = f"sk-class-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def llm() -> ChatServer:
    """The class's LLM, which answers only the instructor's key."""
    server = ChatServer(api_key=CLASS_KEY).start()
    yield server
    server.close()


@pytest.fixture(scope="module")
def hub(llm: ChatServer, tmp_path_factory) -> Hub:
    key_file = tmp_path_factory.mktemp("instructor-secrets") / "llm.key"  # the folder is root's alone
    key_file.write_text(CLASS_KEY + "\n")
    key_file.chmod(0o600)
    roles = {INSTRUCTOR: "instructor", FULL: "student", PARTIAL: "student"}
    with class_hub(roles, {"MSL_LLM_URL": llm.base_url, "MSL_LLM_KEY_FILE": str(key_file)}) as running:
        yield running
        print("the hub's log, last lines:\n" + "".join(running.log[-80:]))  # shown when a test failed


@pytest.fixture(scope="module")
def page(browser) -> Page:
    page = browser.new_page()
    yield page
    page.close()


def sign_in(page: Page, hub: Hub, user: User) -> None:
    """The hub's login form, then the user's own JupyterLab (started by the hub on first sign-in)."""
    page.goto(f"{hub.url}/hub/logout")
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", user.name)
    page.fill("#password_input", user.password)
    page.click("#login_submit")
    expect(page.locator("#jp-main-dock-panel")).to_be_visible(timeout=WAIT)
    expect(page).to_have_url(re.compile(rf"/user/{user.name}/lab"))


def nbgrader_menu(page: Page) -> list[str]:
    """The items of JupyterLab's Nbgrader menu, as the user sees them."""
    page.get_by_role("menuitem", name="Nbgrader").click()
    items = page.locator(".lm-Menu .lm-Menu-itemLabel")
    expect(items.first).to_be_visible()
    labels = items.all_inner_texts()
    page.keyboard.press("Escape")
    return labels


def assignments(page: Page) -> None:
    """The Assignments tab: nbgrader's list of released, fetched and submitted labs."""
    page.get_by_role("menuitem", name="Nbgrader").click()
    page.get_by_role("menuitem", name="Assignment List").click()
    expect(page.locator("#released_assignments_list")).to_be_visible(timeout=WAIT)


def listed(page: Page, which: str):
    expect(page.locator(f"#{which}_assignments_list_loading")).to_be_hidden(timeout=WAIT)
    return page.locator(f"#{which}_assignments_list > .list_item")


def answer(page: Page, notebook: nbformat.NotebookNode, answers: list[str]) -> None:
    """Type each answer into its cell, as a student pastes code: the whole cell's text replaced."""
    cells = page.locator(".jp-Notebook .jp-Cell")
    expect(cells).to_have_count(len(notebook.cells), timeout=WAIT)
    for index, cell in enumerate(notebook.cells):
        if grade_id(cell) not in answers:
            continue
        target = cells.nth(index)
        target.scroll_into_view_if_needed()
        if cell.cell_type == "markdown":
            target.dblclick()  # a rendered Markdown cell opens its editor on double click
        editor = target.locator(".cm-content")
        editor.click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(ANSWERS[grade_id(cell)])
    page.keyboard.press("Escape")
    page.keyboard.press("Control+s")


def saved(path: Path, answers: list[str]) -> bool:
    """Whether the notebook on disk holds every one of ``answers`` in its cell."""
    cells = {grade_id(cell): cell.source for cell in nbformat.read(path, as_version=4).cells}
    return all(cells.get(name) == ANSWERS[name] for name in answers)


def wait_until(condition, what: str, timeout_s: float = WAIT / 1000) -> None:
    """Poll ``condition`` (a file the browser's action writes) until it holds."""
    until = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < until, f"gave up waiting for {what}"
        time.sleep(0.5)


def test_a_term_on_the_class_hub(hub: Hub, page: Page, shots: Path):
    instructor = hub.users[INSTRUCTOR]
    sign_in(page, hub, instructor)
    assert "Formgrader" in nbgrader_menu(page), "instructors get Formgrader"
    shoot(page, "hub-01-instructor-jupyterlab", shots)
    handed = instructor.run("python", "-m", "grader", "handout", "--lab", LAB, env=hub.environment(instructor))
    assert handed.returncode == 0, handed.stderr
    assert f"handed out {LAB}" in handed.stdout

    for step, name in enumerate((FULL, PARTIAL), start=2):
        student = hub.users[name]
        sign_in(page, hub, student)
        menu = nbgrader_menu(page)
        assert "Assignment List" in menu and "Formgrader" not in menu, "students get Assignments, never Formgrader"
        assignments(page)
        released = listed(page, "released")
        expect(released).to_have_count(1, timeout=WAIT)
        expect(released.first.locator(".item_name")).to_have_text(LAB)
        shoot(page, f"hub-0{step}a-{name}-assignments", shots)
        released.first.locator(".item_status button").click()
        expect(listed(page, "fetched")).to_have_count(1, timeout=WAIT)
        fetched = student.home / LAB / f"{LAB}.ipynb"
        assert fetched.is_file(), "Fetch put the lab in the student's home"

        page.goto(f"{hub.url}/user/{name}/lab/tree/{LAB}/{LAB}.ipynb")
        expect(page.locator(".jp-NotebookPanel").first).to_be_visible(timeout=WAIT)
        answer(page, nbformat.read(fetched, as_version=4), ANSWERED[name])
        shoot(page, f"hub-0{step}b-{name}-answered", shots)
        wait_until(lambda path=fetched, answers=ANSWERED[name]: saved(path, answers), "the answers saved")

        page.locator(".jp-NotebookPanel-toolbar").get_by_text("Validate", exact=True).click()
        verdict = page.locator(".jp-Dialog-content")
        expect(verdict).to_be_visible(timeout=WAIT * 2)
        expect(verdict).not_to_contain_text("Validating", timeout=WAIT * 2)
        shoot(page, f"hub-0{step}c-{name}-validated", shots)
        if name == FULL:
            expect(verdict).to_contain_text("Success")
        else:
            expect(verdict).not_to_contain_text("Success")
        page.locator(".jp-Dialog-footer button").last.click()

        assignments(page)
        listed(page, "fetched").first.locator('.item_status button:text("Submit")').click()
        expect(listed(page, "submitted")).to_have_count(1, timeout=WAIT)
        shoot(page, f"hub-0{step}d-{name}-submitted", shots)

    environment = hub.environment(instructor)
    graded = instructor.run("python", "-m", "grader", "autograde", "--from-exchange", "--lab", LAB, env=environment)
    assert graded.returncode == 0, graded.stderr
    assert f"graded 2 submissions of {LAB}" in graded.stdout, graded.stdout + graded.stderr
    returned = instructor.run("python", "-m", "grader", "feedback", "--lab", LAB, "--to-exchange", env=environment)
    assert returned.returncode == 0, returned.stderr
    assert "returned 2 of them through the exchange" in returned.stdout

    course = Course(instructor.home / "ml-systems-labs")
    with Gradebook(course.db_url) as gradebook:
        full = gradebook.find_submission(LAB, FULL)
        partial = gradebook.find_submission(LAB, PARTIAL)
        assert full.code_score == full.max_code_score, "the student who answered everything earns every point"
        assert 0 < partial.code_score < full.code_score, "the student who answered two exercises earns theirs"

    for step, (name, other) in enumerate(((FULL, PARTIAL), (PARTIAL, FULL)), start=4):
        student = hub.users[name]
        sign_in(page, hub, student)
        assignments(page)
        submitted = listed(page, "submitted")
        submitted.first.locator('button:text("Fetch Feedback")').click()
        feedback = student.home / LAB / "feedback"
        wait_until(lambda folder=feedback: any(folder.glob(f"*/{LAB}.html")), "the feedback fetched")
        reports = list(feedback.glob(f"*/{LAB}.html"))
        assert len(reports) == 1, reports
        html = reports[0].read_text()
        assert f"<strong>{name}</strong>" in html and other not in html, "each student gets their own feedback"
        relative = reports[0].relative_to(student.home)
        page.goto(f"{hub.url}/user/{name}/files/{relative}")
        expect(page.locator("h1")).to_contain_text(LAB)
        shoot(page, f"hub-0{step}-{name}-feedback", shots)


def test_no_user_reads_what_is_not_theirs(hub: Hub):
    """Each student, as themselves: not the other's home or submission, the exchange's lists, the gradebook."""
    instructor = hub.users[INSTRUCTOR]
    gradebook = instructor.home / "ml-systems-labs" / "grading" / "gradebook.db"
    inbound = hub.exchange / "ml-systems-labs" / "inbound"
    for name, other in ((FULL, PARTIAL), (PARTIAL, FULL)):
        student = hub.users[name]
        attempts = {
            "the other student's home": ["ls", hub.users[other].home],
            "the other student's notebook": ["cat", hub.users[other].home / LAB / f"{LAB}.ipynb"],
            "the exchange's inbound folder": ["ls", inbound],
            "the exchange's released feedback": ["ls", hub.exchange / "ml-systems-labs" / "feedback"],
            "the instructor's gradebook": ["cat", gradebook],
            "the instructor's home": ["ls", instructor.home],
        }
        for what, command in attempts.items():
            result = student.run(*command, env={"PATH": "/usr/bin:/bin"})
            assert result.returncode != 0 and "Permission denied" in result.stderr, f"{name} could read {what}"
        # The other's submission is there under a name with a random part: without it, there is nothing to read.
        theirs = next(inbound.glob(f"{other}+{LAB}+*"))
        guess = theirs.with_name(theirs.name.rsplit("+", 1)[0])
        result = student.run("ls", guess, env={"PATH": "/usr/bin:/bin"})
        assert result.returncode != 0 and "No such file" in result.stderr, f"{name} found {other}'s submission"
        own = student.run("ls", student.home / LAB, env={"PATH": "/usr/bin:/bin"})
        assert own.returncode == 0 and f"{LAB}.ipynb" in own.stdout, "a student reads their own work"
    assert gradebook.is_file()


def test_the_tutor_reaches_the_class_llm_with_each_student_s_own_token(hub: Hub, llm: ChatServer):
    """The instructor's key stays with the hub: students hold their own hub token, and progress stays home."""
    ask = "from socratiq_ext import Tutor; r = Tutor('lab01_data').ask('Why split by group?'); print(r.offline)"
    for name in (FULL, PARTIAL):
        student = hub.users[name]
        env = hub.environment(student)
        assert env["SOCRATIQ_API_KEY"] == env["JUPYTERHUB_API_TOKEN"], "the tutor's key is the student's token"
        assert not any(CLASS_KEY in value for value in env.values()), "the class's key is in a student's environment"
        asked = len(llm.requests)
        result = student.run("python", "-c", ask, env=env, timeout=120)
        assert result.returncode == 0 and result.stdout.strip() == "False", result.stdout + result.stderr
        assert [r["headers"]["authorization"] for r in llm.requests[asked:]] == [f"Bearer {CLASS_KEY}"]
        progress = student.home / ".local" / "share" / "socratiq" / "progress.sqlite3"
        assert progress.is_file() and progress.stat().st_uid == pwd.getpwnam(name).pw_uid, "progress in own home"
        leaks = [path for path in student.home.rglob("*") if path.is_file() and CLASS_KEY.encode() in path.read_bytes()]
        assert not leaks, f"the class's key reached {leaks}"

"""What a student does in JupyterLab: run Lab 1, ask the SocratiQ panel for help, take a quiz, validate.

Each test opens the lab in a fresh workspace of a real JupyterLab, in
headless Chromium, waits on what JupyterLab shows (the notebook, the kernel's
Idle in the status bar, the panel's own elements) and saves a screenshot.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from answers import solved
from e2e_harness import Lab, shoot, wait_idle
from llm_server import ChatServer, Reply
from playwright.sync_api import Locator, Page, expect

from grader.layout import Course
from socratiq_ext.content import load_lab

REPO = Path(__file__).resolve().parents[2]
LAB = "lab01_data"
NOTEBOOK = f"{LAB}/{LAB}.ipynb"
FIRST_EXERCISE = "lab01-validate-check_record"
CELL_TIMEOUT = 180_000  # the setup cell imports TensorFlow
CONTENT = load_lab(LAB)


def plain(markdown: str) -> str:
    """What the panel shows of a line of markdown (emphasis and code marks removed)."""
    return re.sub(r"[`*_]", "", markdown)


def cell_with(page: Page, text: str) -> Locator:
    return page.locator(".jp-Notebook .jp-Cell", has_text=text).first


def run_menu(page: Page, item: str) -> None:
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item", has_text=item).first.click()


def run_up_to_first_exercise(lab: Lab, page: Page, workspace: str) -> Locator:
    """Open Lab 1, select the first exercise's cell and run everything above it; return the panel."""
    lab.open(page, NOTEBOOK, workspace)
    cell_with(page, "def check_record").locator(".jp-InputPrompt").first.click()
    run_menu(page, "Run All Above Selected Cell")
    panel = page.locator(".socratiq-panel")
    expect(panel).to_be_visible(timeout=CELL_TIMEOUT)
    wait_idle(page, CELL_TIMEOUT)
    return panel


def tab(panel: Locator, name: str) -> None:
    panel.locator(".lm-TabBar-tab", has_text=re.compile(rf"^{re.escape(name)}$")).click()


def button(panel: Locator, title: str) -> Locator:
    return panel.locator(f"button.jupyter-button[title='{title}']")


def visible_reply(panel: Locator) -> Locator:
    return panel.locator(
        ".lm-TabPanel:not(.lm-mod-hidden) .socratiq-reply, .widget-tab-contents > :not(.lm-mod-hidden) .socratiq-reply"
    ).first


def test_flow1_hint_for_the_first_exercise_then_the_next_level(lab: Lab, page: Page, shots: Path):
    panel = run_up_to_first_exercise(lab, page, "flow1")
    exercise = CONTENT.exercises[FIRST_EXERCISE]

    button(panel, "Hint").click()
    reply = visible_reply(panel)
    expect(reply).to_contain_text(f"Hint 1/4 (nudge) for {exercise.title}")
    expect(reply).to_contain_text(plain(exercise.ladder[0])[:60])
    button(panel, "Hint").click()
    expect(reply).to_contain_text(f"Hint 2/4 (concept) for {exercise.title}")
    expect(reply).to_contain_text(plain(exercise.ladder[1])[:60])
    shoot(page, "flow1-hint-level-2", shots, reply)


def test_flow2_explain_a_failing_cell(lab: Lab, page: Page, shots: Path):
    panel = run_up_to_first_exercise(lab, page, "flow2")
    answer = cell_with(page, "def check_record")
    answer.locator(".jp-InputPrompt").first.click()
    page.keyboard.press("Shift+Enter")  # the stub answer: defines check_record
    page.keyboard.press("Shift+Enter")  # its test cell: calls it, and fails
    tests = cell_with(page, "check_record: visible checks passed")
    expect(tests.locator(".jp-OutputArea-output")).to_contain_text("NotImplementedError", timeout=CELL_TIMEOUT)
    wait_idle(page)

    tab(panel, "Explain error")
    button(panel, "Explain error").click()
    reply = visible_reply(panel)
    expect(reply).to_contain_text("NotImplementedError")
    expect(reply).to_contain_text(f"This happened in exercise {CONTENT.exercises[FIRST_EXERCISE].title}")
    shoot(page, "flow2-explain-error", shots, reply)


def _answer(panel: Locator, right: bool, previous: str = "") -> tuple[Locator, str]:
    """Answer the question on screen, rightly or not, from the quiz bank; return the feedback shown and the
    question's text. After "Next question", ``previous`` is the question answered before: wait until the
    panel has replaced it, or a slow machine has the old question read and its choices sought in vain."""
    prompt = panel.locator(".socratiq-reply").filter(has_text="—").first
    if previous:
        expect(prompt).not_to_have_text(previous)
    expect(prompt).to_be_visible()
    text = prompt.inner_text()
    question = next(q for q in CONTENT.questions if q.prompt[:50] in text.replace("\n", " "))
    if question.kind == "short_answer":
        response = question.answer[0] if right else "certainly not this"
        panel.get_by_placeholder("Your answer").fill(response)
    else:
        options = ["True", "False"] if question.kind == "true_false" else list(question.choices)
        wanted = question.answer_text if right else next(o for o in options if o != question.answer_text)
        panel.locator(".widget-radio-box label", has_text=wanted).first.click()
    button(panel, "Check").click()
    verdict = "Right." if right else "Not quite."
    feedback = panel.locator(".socratiq-reply", has_text=verdict).first
    expect(feedback).to_be_visible()
    return feedback, text


def test_flow3_and_4_quiz_right_then_wrong_and_the_progress_view(lab: Lab, page: Page, shots: Path):
    panel = run_up_to_first_exercise(lab, page, "flow3")
    tab(panel, "Quiz")
    feedback, first = _answer(panel, right=True)
    shoot(page, "flow3-quiz-right", shots, feedback)
    button(panel, "Next question").click()
    feedback, _ = _answer(panel, right=False, previous=first)
    shoot(page, "flow3-quiz-wrong", shots, feedback)

    tab(panel, "Progress")
    progress = panel.locator(".socratiq-reply", has_text="quiz answer").first
    expect(progress).to_contain_text("2 quiz answers")
    right_of = [tuple(map(int, m)) for m in re.findall(r": (\d+)/(\d+) right", progress.inner_text())]
    assert (sum(r for r, _ in right_of), sum(n for _, n in right_of)) == (1, 2), progress.inner_text()
    shoot(page, "flow4-progress", shots, progress)


def test_flow5_online_reply_streams_in_and_the_offline_notice_is_gone(lab: Lab, page: Page, shots: Path):
    words = " ".join(f"step{i}." for i in range(60))  # the guard shows prose a sentence at a time
    with ChatServer(default=Reply(f"What does your check do first? {words}", chunk_size=6, delay=0.05)) as server:
        config = lab.socratiq_home / "config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(f'[llm]\nbase_url = "{server.base_url}"\nmodel = "tutor-test"\napi_key = "sk-e2e"\n')
        try:
            panel = run_up_to_first_exercise(lab, page, "flow5")
            expect(panel).to_contain_text("SocratiQ is online")
            expect(panel).not_to_contain_text("SocratiQ is offline")
            button(panel, "Hint").click()
            reply = visible_reply(panel)
            expect(reply).to_contain_text("step5")
            partial = len(reply.inner_text())
            expect(reply).to_contain_text("step59", timeout=30_000)
            assert len(reply.inner_text()) > partial, "the reply was shown whole, not streamed"
            shoot(page, "flow5-online-streamed", shots, reply)
        finally:
            config.unlink()


def test_flow6_validate_a_finished_lab(lab: Lab, page: Page, shots: Path):
    finished = lab.root / "finished" / f"{LAB}.ipynb"
    finished.parent.mkdir(exist_ok=True)
    nbformat.write(solved(Course(REPO), LAB), finished)
    lab.open(page, f"finished/{LAB}.ipynb", "flow6")
    page.get_by_role("button", name="Validate").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text("Success! Your notebook passes all the tests.", timeout=300_000)
    shoot(page, "flow6-validate", shots, dialog)

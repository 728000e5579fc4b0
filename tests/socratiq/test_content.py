"""Data tests: the course material the tutor serves matches the labs that exist, and is well formed."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from socratiq_ext.content import LEVELS, ContentError, known_labs, load_lab, parse_question, split_sections

ROOT = Path(__file__).resolve().parents[2]
LABS = sorted(p.parent.name for p in ROOT.glob("solutions/*/*.ipynb") if p.stem == p.parent.name)


def autograded_ids(lab: str) -> set[str]:
    cells = nbformat.read(ROOT / "solutions" / lab / f"{lab}.ipynb", as_version=4).cells
    meta = [c.metadata.get("nbgrader", {}) for c in cells if c.cell_type == "code"]
    return {m["grade_id"] for m in meta if m.get("solution") and not m.get("task")}


def solution_lines(lab: str) -> set[str]:
    """Substantial lines of code inside the solution regions."""
    source = (ROOT / "solutions" / lab / f"{lab}.ipynb").read_text()
    cells = nbformat.reads(source, as_version=4).cells
    lines = set()
    for cell in cells:
        for region in re.findall(r"### BEGIN SOLUTION(.*?)### END SOLUTION", cell.source, re.DOTALL):
            lines |= {s.strip() for s in region.splitlines() if len(s.strip()) > 20 and not s.strip().startswith("#")}
    return lines


def test_there_are_labs():
    assert LABS, "no solution notebooks found"


@pytest.mark.parametrize("lab", LABS)
def test_every_lab_has_tutor_material(lab):
    assert lab in known_labs(), f"add course/hints/{lab}.toml and course/quizzes/{lab}.toml"
    content = load_lab(lab)
    assert set(content.exercises) == autograded_ids(lab), "the hint ladders must cover exactly the lab's exercises"
    assert len(content.questions) >= 10
    assert {q.kind for q in content.questions} == {"multiple_choice", "true_false", "short_answer"}
    assert {q.objective for q in content.questions} == set(content.objectives), "every objective is quizzed"


@pytest.mark.parametrize("lab", LABS)
def test_every_lab_opens_the_panel_in_its_setup(lab):
    cells = nbformat.read(ROOT / "solutions" / lab / f"{lab}.ipynb", as_version=4).cells
    setup = next(c for c in cells if c.cell_type == "code")
    assert "%load_ext socratiq_ext" in setup.source and f"%socratiq {lab}" in setup.source


@pytest.mark.parametrize("lab", LABS)
def test_hints_never_contain_the_solution(lab):
    content = load_lab(lab)
    for exercise in content.exercises.values():
        text = "\n".join(exercise.ladder)
        leaked = [line for line in solution_lines(lab) if line in text]
        assert not leaked, f"{exercise.grade_id} hints contain solution code: {leaked}"
        said = [w for w in exercise.avoid if w.lower() in text.lower()]
        assert not said, f"{exercise.grade_id} hints say words they ask the LLM to avoid: {said}"
    assert len(LEVELS) == 4


def test_error_catalogue_explains_common_errors():
    errors = load_lab(LABS[0]).errors
    for name in ("AssertionError", "NameError", "NotImplementedError", "TypeError", "ValueError", "Exception"):
        assert errors[name]["plain"].strip() and errors[name]["advice"].strip()


def test_unknown_lab_is_a_clear_error():
    with pytest.raises(ContentError, match="no material for lab 'lab99_nothing'.*lab01_data"):
        load_lab("lab99_nothing")


def test_sections_split_at_level_two_headings():
    sections = split_sections("intro\n## One\ntext 1\n### sub\nmore\n## Two\ntext 2\n", "R")
    assert [(s.title, s.text) for s in sections] == [("One", "text 1\n### sub\nmore"), ("Two", "text 2")]


GOOD = {
    "id": "q",
    "kind": "multiple_choice",
    "prompt": "Which?",
    "choices": ["a", "b"],
    "answer": 1,
    "explanation": "Because.",
    "section": "S",
    "topic": "t",
    "objective": "o",
}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"answer": 2}, "not a valid question"),
        ({"answer": True}, "not a valid question"),
        ({"kind": "essay"}, "not a valid question"),
        ({"section": "Nowhere"}, "section 'Nowhere'"),
        ({"objective": "x"}, "objective 'x'"),
        ({"prompt": " "}, "prompt must be"),
    ],
)
def test_broken_questions_are_refused_with_the_reason(change, message):
    assert parse_question(GOOD, {"S"}, {"o"}).answer_text == "b"
    with pytest.raises(ContentError, match=message):
        parse_question(GOOD | change, {"S"}, {"o"})


@pytest.mark.parametrize(
    "entry, right, wrong",
    [
        (GOOD, 1, 0),
        (GOOD | {"kind": "true_false", "choices": [], "answer": False}, False, True),
        (GOOD | {"kind": "short_answer", "choices": [], "answer": ["300 KiB", "300"]}, "  300  kib ", "3000"),
    ],
)
def test_questions_grade_answers_by_type(entry, right, wrong):
    question = parse_question(entry, {"S"}, {"o"})
    assert question.is_correct(right) and not question.is_correct(wrong)
    assert not question.is_correct(AlwaysEqual()), "an object equal to everything is not an answer"


class AlwaysEqual:
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__

"""The grading proof every lab owes, run by the real nbgrader in a scratch course.

A lab's test module defines ``LAB``, ``FUNCTION_OF`` (grade_id -> the function its
answer cell defines), ``MEMORIZE`` (code that prints ``MEMO`` and the solution's
results as JSON) and ``hard_coded_answers(memo)``; optionally ``ALWAYS_EQUAL``
(its own always-equal answer template) and ``ALWAYS_EQUAL_EXTRA`` (code added to
some of those answers). It imports this module's fixtures and tests
(``from grading_proof import *``), overrides what its lab needs, and adds its own.
The four submissions graded: the solution, the released notebook, hard-coded
answers that pass every visible self-check, and answers returning an object
that equals everything.
"""

from __future__ import annotations

import pytest
from nbformat.v4 import new_code_cell

from harness import ScratchCourse, errors, execute, is_test, printed_json, with_answers

ALWAYS_EQUAL = '''
class AlwaysEqual:
    def __eq__(self, other):
        return True


def {name}(*args, **kwargs):
    return AlwaysEqual()
'''

__all__ = [
    "course",
    "memo",
    "submissions",
    "scores",
    "test_every_exercise_has_a_cheat",
    "test_the_solution_gets_full_autograded_points",
    "test_the_released_notebook_scores_zero",
    "test_hard_coded_answers_pass_the_visible_checks",
    "test_hard_coded_answers_fail_every_exercise_at_grading",
    "test_always_equal_objects_earn_nothing",
]


@pytest.fixture(scope="module")
def course(request, tmp_path_factory) -> ScratchCourse:
    return ScratchCourse.create(tmp_path_factory.mktemp("course"), request.module.LAB)


@pytest.fixture(scope="module")
def memo(request, course, tmp_path_factory) -> dict:
    """The solution's results on the lab's own data, as a cheater would copy them."""
    solved = course.solved()
    solved.cells.append(new_code_cell(request.module.MEMORIZE))
    ran = execute(solved, tmp_path_factory.mktemp("memo"))
    assert not errors(ran), errors(ran)
    return printed_json(ran.cells[-1], "MEMO")


@pytest.fixture(scope="module")
def submissions(request, course, memo) -> dict:
    lab = request.module
    template = getattr(lab, "ALWAYS_EQUAL", ALWAYS_EQUAL)
    extra = getattr(lab, "ALWAYS_EQUAL_EXTRA", {})
    always_equal = {g: template.format(name=f) + extra.get(g, "") for g, f in lab.FUNCTION_OF.items()}
    return {
        "solution": course.solved(),
        "released": course.released,
        "hard_coded": with_answers(course.released, lab.hard_coded_answers(memo)),
        "always_equal": with_answers(course.released, always_equal),
    }


@pytest.fixture(scope="module")
def scores(course, submissions) -> dict[str, dict[str, float]]:
    for student, notebook in submissions.items():
        course.submit(student, notebook)
        course.autograde(student)
    return {student: course.scores(student) for student in submissions}


def test_every_exercise_has_a_cheat(request, course):
    graded = {c.metadata["nbgrader"]["grade_id"].removesuffix("-tests") for c in course.source.cells if is_test(c)}
    assert set(request.module.FUNCTION_OF) == graded


def test_the_solution_gets_full_autograded_points(course, scores):
    assert scores["solution"] == course.max_scores()
    assert 20 <= sum(course.max_scores().values()) <= 40, "the lab guide asks for 20-40 autograded points"


def test_the_released_notebook_scores_zero(scores):
    assert sum(scores["released"].values()) == 0, scores["released"]


def test_hard_coded_answers_pass_the_visible_checks(course, submissions, tmp_path):
    """The cheat is a good one: a student running the released notebook sees every self-check pass."""
    ran = execute(submissions["hard_coded"], tmp_path)
    failing_tests = {cell: error for cell, error in errors(ran).items() if cell.endswith("-tests")}
    assert failing_tests == {}


def test_hard_coded_answers_fail_every_exercise_at_grading(scores):
    earned = {cell: points for cell, points in scores["hard_coded"].items() if points}
    assert earned == {}, f"hidden tests let hard-coded answers through: {earned}"


def test_always_equal_objects_earn_nothing(scores):
    assert sum(scores["always_equal"].values()) == 0, scores["always_equal"]

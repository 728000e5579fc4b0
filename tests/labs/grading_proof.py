"""The grading proof every lab owes, run by the real nbgrader in a scratch course.

A lab's test module defines ``LAB``, ``FUNCTION_OF`` (grade_id -> the function its
answer cell defines) and a ``submissions`` fixture with four notebooks: the
solution, the released notebook, hard-coded answers that pass every visible
self-check, and answers returning an object that equals everything. It then
imports this module's fixtures and tests (``from grading_proof import *``) and
adds its own.
"""

from __future__ import annotations

import pytest

from harness import ScratchCourse, errors, execute, is_test

__all__ = [
    "course",
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

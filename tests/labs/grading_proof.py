"""The grading proof every lab owes, run by the real nbgrader in a scratch course.

A lab's test module defines ``LAB``, ``FUNCTION_OF`` (grade_id -> the function its
answer cell defines), ``MEMORIZE`` (code that prints ``MEMO`` and the solution's
results as JSON) and ``hard_coded_answers(memo)``; optionally ``ALWAYS_EQUAL``
(its own always-equal answer template), ``ALWAYS_EQUAL_EXTRA`` (code added to
some of those answers) and ``AFTER_RUN`` (a last cell for the solution, the
released notebook and the hard-coded cheat: what the notebook left behind). It imports this module's fixtures and tests
(``from grading_proof import *``), overrides what its lab needs, and adds its own.
The four submissions graded: the solution, the released notebook, hard-coded
answers that pass every visible self-check, and answers returning an object
that equals everything.

Fairness is proven the other way round: ``SPEC_FOLLOWING`` (style -> grade_id ->
code) holds at least two further answers to every exercise, written from the
released notebook alone in styles that differ the way students' do. Each
style is a submission that must earn full marks from ``python -m grader``'s
pipeline: nbgrader's own autograde, with the course's guards, in the sandbox.
Being the stricter of the two, it is the one that proves them (grading them
with plain nbgrader as well cost two more runs of every lab and proved nothing more).
"""

from __future__ import annotations

import ast
import re

import nbformat
import pytest
from answers import solution_answers, with_answers
from harness import ScratchCourse, appended, autograde_all, errors, grading_workers, printed_json

from grader.autograde import autograde
from grader.cells import delimiters, grade_id, is_test
from grader.layout import Course

ALWAYS_EQUAL = """
class AlwaysEqual:
    def __eq__(self, other):
        return True


def {name}(*args, **kwargs):
    return AlwaysEqual()
"""

__all__ = [
    "course",
    "memo",
    "submissions",
    "graded_in",
    "solution_run",
    "scores",
    "test_every_exercise_has_a_cheat",
    "test_the_solution_gets_full_autograded_points",
    "test_the_released_notebook_scores_zero",
    "test_hard_coded_answers_pass_the_visible_checks",
    "test_hard_coded_answers_fail_every_exercise_at_grading",
    "test_always_equal_objects_earn_nothing",
    "sandboxed_scores",
    "test_every_exercise_has_two_spec_following_implementations",
    "test_spec_following_implementations_earn_full_marks_in_the_sandbox",
]

SPEC = "spec_"  # student ids of the spec-following submissions: spec_<style>
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def course(request, tmp_path_factory) -> ScratchCourse:
    return ScratchCourse.create(tmp_path_factory.mktemp("course"), request.module.LAB)


@pytest.fixture(scope="module")
def submissions(request, course) -> dict:
    """Every submission but the hard-coded cheat, which needs the memo (see ``graded_in``)."""
    lab = request.module
    template = getattr(lab, "ALWAYS_EQUAL", ALWAYS_EQUAL)
    extra = getattr(lab, "ALWAYS_EQUAL_EXTRA", {})
    always_equal = {g: template.format(name=f) + extra.get(g, "") for g, f in lab.FUNCTION_OF.items()}
    after = getattr(lab, "AFTER_RUN", "")
    return {
        "solution": appended(course.solved(), lab.MEMORIZE, after),
        "released": appended(course.released, after),
        "always_equal": with_answers(course.released, always_equal),
        **{SPEC + style: with_answers(course.released, answers) for style, answers in lab.SPEC_FOLLOWING.items()},
    }


@pytest.fixture(scope="module")
def graded_in(request, course, submissions, tmp_path_factory) -> dict[str, ScratchCourse]:
    """Plain nbgrader grades the solution, the released notebook, the always-equal cheat and the hard-coded one.

    Two workers, each with a scratch course of its own. The solution's last cells print the memo, so the run
    that grades the solution also gives the cheater what they copy; the hard-coded cheat is then graded on the
    solution's worker while the other still grades the released notebook and the always-equal cheat.
    """
    lab, after = request.module, getattr(request.module, "AFTER_RUN", "")
    first, second = course, ScratchCourse.create(tmp_path_factory.mktemp("course"), course.lab)
    first.submit("solution", submissions["solution"])
    for student in ("released", "always_equal"):
        second.submit(student, submissions[student])
    with grading_workers(2) as pool:
        others = pool.submit(autograde_all, second.root, course.lab, ["released", "always_equal"])
        pool.submit(autograde_all, first.root, course.lab, ["solution"]).result()
        memo = printed_json(first.graded_notebook("solution"), "MEMO")
        first.submit("hard_coded", appended(with_answers(course.released, lab.hard_coded_answers(memo)), after))
        pool.submit(autograde_all, first.root, course.lab, ["hard_coded"]).result()
        others.result()
    return {"solution": first, "hard_coded": first, "released": second, "always_equal": second}


@pytest.fixture(scope="module")
def solution_run(graded_in):
    """The solution as nbgrader ran it, outputs included, the memo cell last (or before ``AFTER_RUN``)."""
    ran = graded_in["solution"].graded_notebook("solution")
    assert not errors(ran), errors(ran)
    return ran


@pytest.fixture(scope="module")
def memo(solution_run) -> dict:
    """The solution's results on the lab's own data, as a cheater would copy them."""
    return printed_json(solution_run, "MEMO")


@pytest.fixture(scope="module")
def scores(graded_in) -> dict[str, dict[str, float]]:
    return {student: where.scores(student) for student, where in graded_in.items()}


def test_every_exercise_has_a_cheat(request, course):
    graded = {grade_id(c).removesuffix("-tests") for c in course.source.cells if is_test(c)}
    assert set(request.module.FUNCTION_OF) == graded


def test_the_solution_gets_full_autograded_points(course, scores):
    assert scores["solution"] == course.max_scores()
    assert 20 <= sum(course.max_scores().values()) <= 40, "the lab guide asks for 20-40 autograded points"


def test_the_released_notebook_scores_zero(scores):
    assert sum(scores["released"].values()) == 0, scores["released"]


def test_hard_coded_answers_pass_the_visible_checks(graded_in):
    """The cheat is a good one: a student running the released notebook sees every self-check pass.

    Read from its graded run: a test cell's visible checks passed when it raised nowhere, or only on a line
    after ``### BEGIN HIDDEN TESTS``.
    """
    graded = graded_in["hard_coded"].graded_notebook("hard_coded")
    failing_visibly = {}
    for cell in graded.cells:
        if is_test(cell):
            hidden_from = delimiters().hidden_start(cell.source)
            for output in cell.get("outputs", []):
                line = failed_line(output) if output.output_type == "error" else None
                if output.output_type == "error" and (line is None or line <= hidden_from):
                    failing_visibly[grade_id(cell)] = f"line {line}: {output.ename}: {output.evalue}"
    assert failing_visibly == {}


def test_hard_coded_answers_fail_every_exercise_at_grading(scores):
    earned = {cell: points for cell, points in scores["hard_coded"].items() if points}
    assert earned == {}, f"hidden tests let hard-coded answers through: {earned}"


def test_always_equal_objects_earn_nothing(scores):
    assert sum(scores["always_equal"].values()) == 0, scores["always_equal"]


@pytest.fixture(scope="module")
def sandboxed_scores(course, submissions, tmp_path_factory) -> dict[str, dict[str, float]]:
    """The spec-following submissions graded by ``python -m grader``'s pipeline, two at a time."""
    folder = tmp_path_factory.mktemp("spec-submissions")
    for student, notebook in submissions.items():
        if student.startswith(SPEC):
            (folder / student).mkdir()
            nbformat.write(notebook, folder / student / f"{course.lab}.ipynb")
    grading = Course(course.root, course.root / "sandboxed")
    report = autograde(grading, folder, course.lab, jobs=2, progress=False)
    assert report.problems == {}, report.problems
    return {student: course.scores(student, db_url=grading.db_url) for student in report.graded}


def test_every_exercise_has_two_spec_following_implementations(request, course):
    styles = request.module.SPEC_FOLLOWING
    assert len(styles) >= 2, "at least two spec-following styles"
    solutions = solution_answers(course.source)
    solution = {g: _normalized(code) for g, code in solutions.items()}
    for style, answers in styles.items():
        assert set(answers) == set(request.module.FUNCTION_OF), f"{style} answers every exercise, and only those"
        copied = [
            g for g, code in answers.items() if _normalized(code) == solution[g] and not _one_statement(solutions[g])
        ]
        assert copied == [], f"{style}: {copied} repeat the solution instead of another implementation"
    for grade in request.module.FUNCTION_OF:
        versions = {_normalized(answers[grade]) for answers in styles.values()}
        assert len(versions) == len(styles), f"{grade}: the styles' implementations must differ"


def test_spec_following_implementations_earn_full_marks_in_the_sandbox(course, sandboxed_scores):
    lost = {
        student: {cell: points for cell, points in earned.items() if points < course.max_scores()[cell]}
        for student, earned in sandboxed_scores.items()
    }
    assert lost and all(cells == {} for cells in lost.values()), f"hidden tests demand more than the text: {lost}"


def failed_line(error) -> int | None:
    """The line of the executed cell where an error output was raised (IPython's ``Cell In[n], line k``)."""
    frame = re.search(r"Cell In\[\d+\], line (\d+)", ANSI.sub("", "\n".join(error.get("traceback", []))))
    return int(frame.group(1)) if frame else None


def _one_statement(code: str) -> bool:
    """An answer whose function is one statement (a formula the text spells out): a student who writes it
    exactly as the solution does has not copied it, there is no other way to write it."""
    functions = [node for node in ast.walk(ast.parse(code)) if isinstance(node, ast.FunctionDef)]
    body = [
        node
        for f in functions
        for node in f.body
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
    ]
    return len(body) == 1


def _normalized(code: str) -> str:
    return " ".join(code.split())

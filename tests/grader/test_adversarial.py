"""Cheating and broken submissions, graded in one run beside honest ones.

Each test reads one student's result from a single ``python -m grader
autograde`` run over the whole set (two workers), so the set also shows that
no submission changes anyone else's grade. Every cheat comes with wrong
answers: any point it earns is a point given away.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
import tiny_lab as tiny
from nbgrader.api import Gradebook
from tiny_lab import FULL, POINTS, RIGHT, WRONG

from grader import feedback
from grader.export import scores
from grader.faults import read_faults
from grader.layout import Course

ADD_ONLY = POINTS["tiny-add-tests"]
FAULT_AFTER_ADD = "tiny-add-tests"

YES = """
class Yes:
    def __getattr__(self, name):
        return Yes()
    def __call__(self, *args, **kwargs):
        return Yes()
"""


class Listener:
    """A TCP server on the grading machine's loopback that counts who reaches it."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.server.settimeout(0.2)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping.is_set():
            try:
                connection, _ = self.server.accept()
            except OSError:
                continue
            self.connections += 1
            connection.close()

    def close(self):
        self.stopping.set()
        self.thread.join()
        self.server.close()


def submissions(student_version, root: Path, port: int) -> dict[str, object]:
    """student id -> notebook (or raw bytes, for files that are not notebooks)."""
    nb = student_version
    snoop = f"""
import json, pathlib
found = {{}}
for name, path in {{"solution": "{root}/solutions/tiny/tiny.ipynb", "gradebook": "{root}/grading/gradebook.db",
                   "others": "{root}/grading/submitted/honest", "tests": "{tiny.REPO}/tests"}}.items():
    found[name] = pathlib.Path(path).exists()
try:
    solution = json.loads(pathlib.Path("{root}/solutions/tiny/tiny.ipynb").read_text())
    for cell in solution["cells"]:
        if "def " in "".join(cell["source"]):
            exec("".join(cell["source"]))
except OSError as error:
    found["error"] = type(error).__name__
print("SNOOP", json.dumps(found))
"""
    network = f"""
import json, socket
reached = {{}}
for name, address in {{"grader_loopback": ("127.0.0.1", {port}), "internet": ("1.1.1.1", 53)}}.items():
    try:
        socket.create_connection(address, timeout=2).close()
        reached[name] = True
    except OSError:
        reached[name] = False
server = socket.create_server(("127.0.0.1", 0))  # the kernel's own loopback still works
reached["own_loopback"] = socket.create_connection(server.getsockname(), timeout=2) is not None
print("NETWORK", json.dumps(reached))
"""
    return {
        # honest work, graded in the same run
        "honest": tiny.answered(nb, RIGHT),
        "partial": tiny.answered(nb, {"tiny-add": RIGHT["tiny-add"]}),
        # tampering with the execution machinery
        "input_transformer": tiny.answered(
            nb,
            WRONG,
            tiny.prepend(
                "ip = get_ipython()\nip.input_transformers_cleanup.append(lambda lines: ['pass\\n'])\n"
                "ip.input_transformers_post.append(lambda lines: ['pass\\n'])"
            ),
        ),
        "ast_transformer": tiny.answered(
            nb,
            WRONG,
            tiny.prepend(
                "import ast\nclass Erase(ast.NodeTransformer):\n    def visit_Module(self, node):\n"
                "        node.body = []\n        return node\nget_ipython().ast_transformers.append(Erase())"
            ),
        ),
        "showtraceback": tiny.answered(
            nb,
            WRONG,
            tiny.prepend(
                "ip = get_ipython()\nip.showtraceback = lambda *a, **k: None\nip._showtraceback = lambda *a, **k: None\n"
                "type(ip).showtraceback = lambda *a, **k: None"
            ),
        ),
        "excepthook": tiny.answered(
            nb,
            WRONG,
            tiny.prepend(
                "import sys\nsys.excepthook = lambda *a: None\n"
                "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)"
            ),
        ),
        "patched_helpers": tiny.answered(
            nb,
            WRONG,
            tiny.prepend("np.isclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None"),
        ),
        "rebound_names": tiny.answered(nb, WRONG, tiny.prepend(YES + "np = Yes()")),
        "patched_before_setup": tiny.answered(
            nb,
            WRONG,
            tiny.insert_before(
                "tiny-setup",
                "import numpy\nnumpy.isclose = lambda *a, **k: True\nnumpy.testing.assert_allclose = lambda *a, **k: None",
            ),
        ),
        "always_equal": tiny.answered(
            nb,
            {
                "tiny-add": "class Same:\n    def __eq__(self, other):\n        return True\n"
                "def add(a, b):\n    return Same()",
                "tiny-mean": "def mean(xs):\n    return Same()",
            },
        ),
        # test and locked cells changed or removed
        "deleted_tests": tiny.answered(
            nb, {**WRONG, "tiny-add": RIGHT["tiny-add"]}, tiny.drop("tiny-add-tests", "tiny-mean-tests")
        ),
        "duplicated_tests": tiny.answered(
            nb, WRONG, tiny.duplicate_and_empty("tiny-add-tests"), tiny.duplicate_and_empty("tiny-mean-tests")
        ),
        # copied cells (JupyterLab keeps their nbgrader metadata): honest work counts, once
        "duplicated_cells": tiny.answered(nb, RIGHT, tiny.duplicate_every_graded_cell),
        "duplicated_partial": tiny.answered(
            nb, {**WRONG, "tiny-add": RIGHT["tiny-add"]}, tiny.duplicate_every_graded_cell
        ),
        "edited_tests": tiny.answered(
            nb, WRONG, tiny.rewrite("tiny-add-tests", "print('ok')"), tiny.rewrite("tiny-mean-tests", "pass")
        ),
        "unmarked_tests": tiny.answered(
            nb,
            WRONG,
            tiny.rewrite("tiny-add-tests", "pass", keep_metadata=False),
            tiny.rewrite("tiny-mean-tests", "pass", keep_metadata=False),
        ),
        "edited_setup": tiny.answered(nb, WRONG, tiny.rewrite("tiny-setup", YES + "np = Yes()\nSEED = 0")),
        # reaching outside the sandbox
        "file_snoop": tiny.answered(nb, WRONG, tiny.prepend(snoop)),
        "network": tiny.answered(nb, RIGHT, tiny.prepend(network)),
        "environment": tiny.answered(
            nb,
            RIGHT,
            tiny.prepend(
                "import os, json\nprint('ENVIRONMENT', json.dumps({k: v for k, v in os.environ.items() if 'KEY' in k or 'secret' in v}))"
            ),
        ),
        # faults after the first exercise: keep its points, lose the rest, and say why
        "infinite_loop": tiny.answered(nb, RIGHT, tiny.insert_after(FAULT_AFTER_ADD, "while True:\n    pass")),
        "memory_hog": tiny.answered(
            nb,
            RIGHT,
            tiny.insert_after(FAULT_AFTER_ADD, "blocks = []\nwhile True:\n    blocks.append(bytearray(256 * 1024**2))"),
        ),
        "fork_bomb": tiny.answered(
            nb, RIGHT, tiny.insert_after(FAULT_AFTER_ADD, "import os\nwhile True:\n    os.fork()")
        ),
        "kernel_kill": tiny.answered(
            nb, RIGHT, tiny.insert_after(FAULT_AFTER_ADD, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
        ),
        "infinite_print": tiny.answered(
            nb, RIGHT, tiny.insert_after(FAULT_AFTER_ADD, "while True:\n    print('spam ' * 200)")
        ),
        "broken_metadata": tiny.answered(nb, RIGHT, tiny.insert_after(FAULT_AFTER_ADD, "x = 1"), _bogus_metadata),
        "not_json": b"{ this is not a notebook",
        "wrong_schema": b'{"cells": "none", "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
    }


def _bogus_metadata(notebook) -> None:
    """Mark the student's own cell as an nbgrader grade cell without an id: nbgrader refuses the notebook."""
    cell = next(c for c in notebook.cells if c.source == "x = 1")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": False, "points": 99}


@dataclass
class Results:
    root: Path
    course: Course
    stdout: str
    stderr: str
    score: dict[str, float]
    loopback_connections: int

    def faults(self, student: str) -> list[str]:
        return read_faults(self.course.autograded / student / tiny.LAB).get("faults", [])

    def printed(self, student: str, tag: str) -> dict:
        notebook = nbformat.read(self.course.autograded / student / tiny.LAB / f"{tiny.LAB}.ipynb", as_version=4)
        for cell in notebook.cells:
            for output in cell.get("outputs", []):
                for line in output.get("text", "").splitlines():
                    if line.startswith(tag + " "):
                        return json.loads(line[len(tag) + 1 :])
        raise AssertionError(f"{student} printed no {tag} line")


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Results:
    root = tmp_path_factory.mktemp("tiny-course")
    tiny.write_course(root)
    listener = Listener()
    folder = root / "incoming"
    for student, notebook in submissions(tiny.released(root), root, listener.port).items():
        (folder / student).mkdir(parents=True)
        target = folder / student / f"{tiny.LAB}.ipynb"
        if isinstance(notebook, bytes):
            target.write_bytes(notebook)
        else:
            nbformat.write(notebook, target)
    try:
        result = tiny.grade(root, folder, "--jobs", "2", "--cell-timeout", "10", "--memory-gib", "2")
    finally:
        listener.close()
    assert result.returncode == 0, result.stderr[-3000:]
    course = Course(root, root / "grading")
    score = {s.student: s.score for s in scores(course)}
    return Results(root, course, result.stdout, result.stderr, score, listener.connections)


# Cheats that plain `nbgrader autograde` rewards: the control below shows they are real.
FOOL_NBGRADER = ["input_transformer", "ast_transformer", "patched_helpers", "rebound_names", "patched_before_setup"]


@pytest.fixture(scope="module")
def plain_nbgrader_scores(tmp_path_factory) -> dict[str, float]:
    """The same cheats graded by plain ``nbgrader autograde``, one after another."""
    root = tmp_path_factory.mktemp("plain-nbgrader")
    tiny.write_course(root)
    cheats = submissions(tiny.released(root), root, port=9)
    (root / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(root)!r}\nc.CourseDirectory.source_directory = 'solutions'\n"
        f"c.CourseDirectory.release_directory = 'labs'\nc.CourseDirectory.db_url = 'sqlite:///{root}/release/gradebook.db'\n"
    )
    for student in FOOL_NBGRADER:
        (root / "submitted" / student / tiny.LAB).mkdir(parents=True)
        nbformat.write(cheats[student], root / "submitted" / student / tiny.LAB / f"{tiny.LAB}.ipynb")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "nbgrader"), "autograde", tiny.LAB, "--force"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    with Gradebook(f"sqlite:///{root}/release/gradebook.db") as gradebook:  # where tiny.released() records it
        return {student: gradebook.find_submission(tiny.LAB, student).score for student in FOOL_NBGRADER}


@pytest.mark.parametrize("student", FOOL_NBGRADER)
def test_control_plain_nbgrader_rewards_this_cheat(plain_nbgrader_scores, student):
    assert plain_nbgrader_scores[student] > 0


def test_honest_work_keeps_its_points_beside_the_cheats(graded):
    assert graded.score["honest"] == FULL
    assert graded.score["partial"] == ADD_ONLY
    assert graded.faults("honest") == []


@pytest.mark.parametrize(
    "student",
    [
        "input_transformer",
        "ast_transformer",
        "showtraceback",
        "excepthook",
        "patched_helpers",
        "rebound_names",
        "patched_before_setup",
        "always_equal",
    ],
)
def test_tampering_with_execution_earns_nothing(graded, student):
    assert graded.score[student] == 0


def test_deleted_test_cells_are_put_back_and_graded(graded):
    # add was right and mean wrong: the restored tests give exactly add's points
    assert graded.score["deleted_tests"] == ADD_ONLY
    notebook = nbformat.read(graded.course.autograded / "deleted_tests" / tiny.LAB / f"{tiny.LAB}.ipynb", 4)
    assert [tiny.grade_id(c) for c in notebook.cells if tiny.grade_id(c)] == [
        "tiny-setup",
        "tiny-add",
        "tiny-add-tests",
        "tiny-mean",
        "tiny-mean-tests",
    ]
    notes = read_faults(graded.course.autograded / "deleted_tests" / tiny.LAB)["notes"]
    assert [note.split()[0] for note in notes] == ["tiny-add-tests", "tiny-mean-tests"], notes


def test_copied_cells_earn_their_answers_points_once_and_feedback_says_so(graded):
    assert graded.score["duplicated_cells"] == FULL
    assert graded.score["duplicated_partial"] == ADD_ONLY
    notes = read_faults(graded.course.autograded / "duplicated_cells" / tiny.LAB)["notes"]
    assert len(notes) == 4 and all("was not graded" in note for note in notes), notes
    assert any("copy of tiny-add-tests" in note for note in notes), notes
    report = feedback.write_report(graded.course, tiny.LAB, "duplicated_cells").read_text()
    assert "What the grader changed in your notebook" in report and "copy of tiny-mean-tests" in report
    assert graded.faults("duplicated_cells") == []


@pytest.mark.parametrize("student", ["duplicated_tests", "edited_tests", "unmarked_tests", "edited_setup"])
def test_changed_test_and_locked_cells_are_restored(graded, student):
    assert graded.score[student] == 0


def test_the_kernel_sees_neither_solutions_nor_gradebook_nor_other_students(graded):
    found = graded.printed("file_snoop", "SNOOP")
    assert found == {
        "solution": False,
        "gradebook": False,
        "others": False,
        "tests": False,
        "error": "FileNotFoundError",
    }
    assert graded.score["file_snoop"] == 0


def test_the_kernel_has_no_network_but_its_own_loopback(graded):
    reached = graded.printed("network", "NETWORK")
    assert reached == {"grader_loopback": False, "internet": False, "own_loopback": True}
    assert graded.loopback_connections == 0
    assert graded.score["network"] == FULL


def test_the_kernel_gets_none_of_the_graders_keys(graded):
    assert graded.printed("environment", "ENVIRONMENT") == {}
    assert graded.score["environment"] == FULL


@pytest.mark.parametrize(
    ("student", "reason"),
    [
        ("infinite_loop", "10-second limit per cell"),
        ("fork_bomb", "processes"),
        ("kernel_kill", "killed"),
        ("infinite_print", "KiB a notebook may print"),
    ],
)
def test_a_fault_keeps_the_points_earned_before_it_and_says_why(graded, student, reason):
    assert graded.score[student] == ADD_ONLY
    faults = graded.faults(student)
    assert len(faults) == 1 and reason in faults[0] and "later cells were not run" in faults[0], faults


def test_running_out_of_memory_is_explained_and_the_run_goes_on(graded):
    assert graded.score["memory_hog"] == FULL
    assert any("ran out of memory" in fault and "2 GiB" in fault for fault in graded.faults("memory_hog"))


@pytest.mark.parametrize("student", ["not_json", "wrong_schema"])
def test_a_file_that_is_not_a_notebook_scores_zero_with_a_reason(graded, student):
    assert graded.score[student] == 0
    assert "is not a valid notebook" in graded.faults(student)[0]
    assert f"{student}: {student}/{tiny.LAB}.ipynb is not a valid notebook" in graded.stderr
    # the original is kept for the instructor
    assert (graded.course.submitted / student / tiny.LAB / f"{tiny.LAB}.ipynb").is_file()


def test_a_notebook_nbgrader_refuses_scores_zero_with_its_reason(graded):
    assert graded.score["broken_metadata"] == 0
    assert graded.faults("broken_metadata")[0].startswith(
        "nbgrader could not grade it (nbgrader.nbgraderformat.common.SchemaTooOldError: Outdated schema version: 0"
    )
    assert "broken_metadata: nbgrader could not grade it" in graded.stderr


def test_no_graded_kernel_outlives_the_run(graded):
    """No guarded kernel of this run is left, in its sandbox or orphaned: each runs in its student's graded
    folder (bubblewrap binds it at the same path), so its working directory names this run's course. Kernels
    of other runs (a lab's proof on the other test worker) are not this run's to judge."""
    leftovers = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                command = (proc / "cmdline").read_bytes().decode(errors="replace")
                folder = os.readlink(proc / "cwd")
            except OSError:
                continue
            if "grader.kernel.GuardedKernel" in command and folder.startswith(str(graded.root)):
                leftovers.append(command)
    assert leftovers == []


def test_the_summary_is_one_line_that_counts_the_faults(graded):
    lines = graded.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"graded {len(graded.score)} submissions of tiny in ")
    assert "with faults or problems" in lines[0]

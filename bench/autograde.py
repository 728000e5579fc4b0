"""How fast the course's grader is against plain ``nbgrader autograde``, on the same submissions.

    .venv/bin/python -m bench.autograde [--lab lab01_data] [--students 8] [--jobs N]

1. Builds ``--students`` submissions of a TensorFlow lab (answered fully, half,
   or not at all, in turn) and grades the same set twice, in one run: with
   plain ``nbgrader autograde`` (one submission after another, as nbgrader
   does) and with ``python -m grader autograde`` (parallel sandboxed kernels).
   Prints both wall times and their ratio, and checks both gave the same scores.
   Plain nbgrader starts with the lab already in its gradebook; ours creates
   its gradebook inside the timed run, as it does on a first run.
2. Where the time goes for one submission: kernel start (plain and in the
   sandbox), the setup cell (imports: TensorFlow, the course library), the
   answer cells, and the test cells.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbgrader.api import Gradebook

from grader.cells import kind as cell_kind
from grader.cli import put_environment_scripts_on_path
from grader.execute import SandboxedExecute
from grader.kernel import HEADER
from grader.sandbox import SandboxedKernelManager
from tests.support.answers import solution_answers, with_answers

REPO = Path(__file__).resolve().parents[1]


def submissions(lab: str, count: int) -> dict[str, nbformat.NotebookNode]:
    """Full, half and empty answers in turn: the spread a real class hands in."""
    answers = solution_answers(nbformat.read(REPO / "solutions" / lab / f"{lab}.ipynb", as_version=4))
    names = list(answers)  # notebook order: later exercises build on earlier ones
    shares = [names, names[: len(names) // 2], []]
    released = nbformat.read(REPO / "labs" / lab / f"{lab}.ipynb", as_version=4)
    return {
        f"student{index:02d}": with_answers(released, {name: answers[name] for name in shares[index % len(shares)]})
        for index in range(count)
    }


def plain_nbgrader(lab: str, notebooks: dict, scratch: Path) -> tuple[float, dict[str, float]]:
    """nbgrader's own ``autograde`` over the course's configuration, state in ``scratch``."""
    for student, notebook in notebooks.items():
        folder = scratch / "submitted" / student / lab
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / f"{lab}.ipynb")
    db = scratch / "gradebook.db"
    # The course's configuration, with its state moved here (command-line options beat config files).
    state = [
        f"--CourseDirectory.db_url=sqlite:///{db}",
        f"--CourseDirectory.submitted_directory={scratch / 'submitted'}",
        f"--CourseDirectory.autograded_directory={scratch / 'autograded'}",
        f"--CourseDirectory.release_directory={scratch / 'release'}",
    ]
    nbgrader = str(Path(sys.executable).parent / "nbgrader")
    run([nbgrader, "generate_assignment", lab, "--force", *state], REPO)
    started = time.perf_counter()
    run([nbgrader, "autograde", lab, "--force", *state], REPO)
    seconds = time.perf_counter() - started
    return seconds, read_scores(db, lab)


def ours(lab: str, notebooks: dict, scratch: Path, jobs: int | None) -> tuple[float, dict[str, float]]:
    folder = scratch / "incoming"
    for student, notebook in notebooks.items():
        (folder / student).mkdir(parents=True)
        nbformat.write(notebook, folder / student / f"{lab}.ipynb")
    state = scratch / "state"
    jobs_args = ["--jobs", str(jobs)] if jobs else []
    started = time.perf_counter()
    run(
        [
            sys.executable,
            "-m",
            "grader",
            "--course-dir",
            str(state),
            "autograde",
            str(folder),
            "--lab",
            lab,
            *jobs_args,
        ],
        REPO,
    )
    seconds = time.perf_counter() - started
    return seconds, read_scores(state / "gradebook.db", lab)


def run(command: list[str], cwd: Path) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed:\n{result.stderr[-2000:]}")


def read_scores(db: Path, lab: str) -> dict[str, float]:
    with Gradebook(f"sqlite:///{db}") as gradebook:
        return {s.student_id: s.score for s in gradebook.find_assignment(lab).submissions}


def breakdown(lab: str, notebook: nbformat.NotebookNode, scratch: Path, sandboxed: bool) -> dict[str, float]:
    """Seconds spent starting the kernel, in the setup cell, in answer cells and in test cells."""
    work = scratch / ("breakdown-sandboxed" if sandboxed else "breakdown-plain")
    work.mkdir()
    notebook = nbformat.from_dict(notebook)
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", allow_errors=True, resources={"metadata": {"path": str(work)}}
    )
    if sandboxed:
        client.km = SandboxedKernelManager(work_dir=str(work), limits=SandboxedExecute().limits())
    spent = {"kernel start": 0.0, "setup (imports)": 0.0, "answers": 0.0, "tests": 0.0, "other cells": 0.0}
    started = time.perf_counter()
    with client.setup_kernel():
        client.wait_for_reply(client.kc.kernel_info())
        spent["kernel start"] = time.perf_counter() - started
        first_code = next(i for i, c in enumerate(notebook.cells) if c.cell_type == "code")
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            kind = cell_kind(cell)
            source = cell.source
            if sandboxed:
                cell.source = f"{HEADER}{kind}\n{source}"
            began = time.perf_counter()
            client.execute_cell(cell, index)
            cell.source = source
            nbgrader = cell.metadata.get("nbgrader", {})
            bucket = (
                "setup (imports)"
                if index == first_code
                else "tests"
                if kind == "test"
                else "answers"
                if nbgrader.get("solution")
                else "other cells"
            )
            spent[bucket] += time.perf_counter() - began
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", default="lab01_data")
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=None, help="the grader's workers (default: the number of cores)")
    args = parser.parse_args()
    put_environment_scripts_on_path()
    notebooks = submissions(args.lab, args.students)
    with tempfile.TemporaryDirectory(prefix="bench-autograde-") as scratch:
        scratch = Path(scratch)
        (scratch / "plain").mkdir()
        (scratch / "ours").mkdir()
        print(f"{args.students} submissions of {args.lab} (full, half and empty answers in turn)")
        plain_s, plain_scores = plain_nbgrader(args.lab, notebooks, scratch / "plain")
        print(f"  plain nbgrader autograde      {plain_s:7.1f} s  ({plain_s / args.students:.1f} s per submission)")
        ours_s, our_scores = ours(args.lab, notebooks, scratch / "ours", args.jobs)
        print(f"  python -m grader autograde    {ours_s:7.1f} s  ({ours_s / args.students:.1f} s per submission)")
        print(f"  speed-up                      {plain_s / ours_s:7.2f}x  (target 1.8x on 2 cores)")
        print(f"  same scores                   {plain_scores == our_scores}  {sorted(set(our_scores.values()))}")
        print("\nWhere one fully answered submission's time goes (seconds):")
        full = notebooks["student00"]
        plain = breakdown(args.lab, full, scratch, sandboxed=False)
        sandboxed = breakdown(args.lab, full, scratch, sandboxed=True)
        print(f"  {'':18}{'plain kernel':>14}{'sandboxed':>12}")
        for part in plain:
            print(f"  {part:18}{plain[part]:14.2f}{sandboxed[part]:12.2f}")
        print(f"  {'total':18}{sum(plain.values()):14.2f}{sum(sandboxed.values()):12.2f}")


if __name__ == "__main__":
    main()

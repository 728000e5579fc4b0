"""The instructor's command line: ``python -m grader release|check|publish|autograde|feedback|export``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from grader.release import Course, ReleaseError, check, release

REPO = Path(__file__).resolve().parent.parent
GiB = 1024**3


def put_environment_scripts_on_path() -> None:
    """Let nbgrader find ``alembic`` even when the virtual environment is not activated.

    nbgrader runs ``alembic`` as a subprocess when it creates a gradebook;
    ``.venv/bin/python -m grader`` alone does not put ``.venv/bin`` on PATH.
    """
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


def course_options(after_command: bool) -> argparse.ArgumentParser:
    """Where the course lives: accepted before the command and after it (``autograde subs --course-dir D``)."""
    options = argparse.ArgumentParser(add_help=False)
    # After the command, SUPPRESS: an option not given there leaves the one given before it (or the default) alone.
    options.add_argument("--course-root", type=Path, default=argparse.SUPPRESS if after_command else REPO,
                         help="folder holding solutions/ and labs/ (default: this repository)")
    options.add_argument("--course-dir", type=Path, default=argparse.SUPPRESS if after_command else None,
                         help="folder for the gradebook, submissions, graded copies and feedback "
                              "(default: COURSE_ROOT/grading)")
    return options


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__, parents=[course_options(False)])
    commands = parser.add_subparsers(dest="command", required=True)
    after = course_options(True)

    def command(name: str, **kwargs) -> argparse.ArgumentParser:
        return commands.add_parser(name, parents=[after], **kwargs)

    rel = command("release", help="regenerate labs/ from solutions/ with nbgrader")
    rel.add_argument("labs", nargs="*", help="lab ids (default: every lab in solutions/)")
    command("check", help="exit 1 and name every lab whose labs/ copy differs from what release would write")
    publish = command("publish", help="write the student edition (labs, course library, tutor; no solutions) to a new folder")
    publish.add_argument("folder", type=Path, help="a new or empty folder; it becomes a git repository to share with students")

    grade = command("autograde", help="grade a folder or LMS zip of submissions, in parallel sandboxes")
    grade.add_argument("submissions", type=Path, help="folder of <student>/<lab>.ipynb (or <student>/<lab>/<lab>.ipynb), or an LMS zip")
    grade.add_argument("--lab", required=True, help="the lab these notebooks answer, e.g. lab01_data")
    grade.add_argument("--jobs", type=int, default=None, help="notebooks graded at once (default: the number of cores)")
    grade.add_argument("--student", default=None, help="grade (or regrade) only this student")
    grade.add_argument("--sandbox", choices=("best", "strict"), default="best",
                       help="strict: refuse to grade when this machine lacks an isolation feature (default: best)")
    grade.add_argument("--memory-gib", type=float, default=4, help="address space per kernel, GiB (default 4)")
    grade.add_argument("--cell-timeout", type=int, default=300, help="seconds one cell may run (default 300)")
    grade.add_argument("--cpu-seconds", type=int, default=1800, help="CPU seconds per notebook (default 1800)")

    feedback = command("feedback", help="write one HTML report per graded student and lab")
    feedback.add_argument("--lab", default=None, help="only this lab (default: every graded lab)")

    export = command("export", help="write the gradebook's scores as CSV, or as a Canvas gradebook import")
    export.add_argument("--format", choices=("csv", "canvas"), default="csv")
    export.add_argument("--out", type=Path, required=True, help="the file to write")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    put_environment_scripts_on_path()
    try:
        if args.command in ("release", "check"):
            return _release_or_check(args)
        if args.command == "publish":
            return _publish(args)
        return _grading_command(args)
    except ReleaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _release_or_check(args: argparse.Namespace) -> int:
    course = Course(args.course_root.resolve())
    if args.command == "release":
        for line in release(course, args.labs or None):
            print(line)
        return 0
    problems = check(course)
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        print("labs/ is out of date: run `python -m grader release` and commit labs/ and course/fingerprints/.", file=sys.stderr)
        return 1
    print(f"labs/ matches solutions/ ({len(course.source_labs())} labs)")
    return 0


def _publish(args: argparse.Namespace) -> int:
    from grader.publish import PublishError, publish

    try:
        files = publish(Course(args.course_root.resolve()), args.folder)
    except PublishError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote the student edition to {args.folder} ({len(files)} files, one git commit): "
          "students run `make lab` there; it holds no solution or hidden test")
    return 0


def _grading_command(args: argparse.Namespace) -> int:
    # Imported here: release and check must not pay for nbgrader's autograde machinery.
    from grader import autograde, export, feedback
    from grader.sandbox import Limits, SandboxUnavailable, probe
    from grader.submissions import SubmissionsError

    root = args.course_root.resolve()
    course = autograde.GradingCourse(root, (args.course_dir or root / "grading").resolve())
    try:
        if args.command == "autograde":
            print(probe().describe(), file=sys.stderr)
            limits = Limits(memory_bytes=int(args.memory_gib * GiB), cell_timeout=args.cell_timeout,
                            cpu_seconds=args.cpu_seconds)
            report = autograde.autograde(course, args.submissions, args.lab, jobs=args.jobs, student=args.student,
                                         limits=limits, strict=args.sandbox == "strict")
            for line in report.skipped:
                print(f"skipped: {line}", file=sys.stderr)
            for student, problem in sorted(report.problems.items()):
                print(f"{student}: {problem}", file=sys.stderr)
            print(export.summary(course, args.lab, report))
            return 0
        if args.command == "feedback":
            written = feedback.write_all(course, args.lab)
            print(f"wrote {len(written)} feedback reports under {course.feedback}")
            return 0
        rows = export.write(course, args.format, args.out)
        print(f"wrote {rows} rows to {args.out}")
        return 0
    except (SubmissionsError, SandboxUnavailable, export.ExportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

"""The instructor's command line: ``python -m grader release|check``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from grader.release import Course, ReleaseError, check, release

REPO = Path(__file__).resolve().parent.parent


def put_environment_scripts_on_path() -> None:
    """Let nbgrader find ``alembic`` even when the virtual environment is not activated.

    nbgrader runs ``alembic`` as a subprocess when it creates a gradebook;
    ``.venv/bin/python -m grader`` alone does not put ``.venv/bin`` on PATH.
    """
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__)
    parser.add_argument("--course-root", type=Path, default=REPO, help="folder holding solutions/ and labs/ (default: this repository)")
    commands = parser.add_subparsers(dest="command", required=True)
    rel = commands.add_parser("release", help="regenerate labs/ from solutions/ with nbgrader")
    rel.add_argument("labs", nargs="*", help="lab ids (default: every lab in solutions/)")
    commands.add_parser("check", help="exit 1 and name every lab whose labs/ copy differs from what release would write")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    put_environment_scripts_on_path()
    course = Course(args.course_root.resolve())
    try:
        if args.command == "release":
            for line in release(course, args.labs or None):
                print(line)
            return 0
        problems = check(course)
    except ReleaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        print("labs/ is out of date: run `python -m grader release` and commit labs/.", file=sys.stderr)
        return 1
    print(f"labs/ matches solutions/ ({len(course.source_labs())} labs)")
    return 0

"""The instructor's command line: ``python -m grader release|check|publish|handout|autograde|feedback|export|...``.

Every command takes the course's folders the same way (``--course-root``, ``--course-dir``,
before or after the command; on a class hub, ``GRADER_COURSE_ROOT`` and ``GRADER_COURSE_DIR``
give their defaults) and reports a problem it can name as one line starting with
``error:`` and exit status 2. ``--verbose`` shows nbgrader's own log.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from traitlets import Float, Int
from traitlets.config import Config

from grader.errors import GraderError
from grader.layout import Course

REPO = Path(__file__).resolve().parent.parent
log = logging.getLogger("grader")
# The grading limits the command line sets: flag -> (configurable class, trait). Each is declared once, as a
# trait with its help, on nbgrader's Execute or the course's SandboxedExecute; nbgrader_config.py sets the same.
LIMIT_FLAGS = {
    "--cell-timeout": ("Execute", "timeout"),
    "--memory-gib": ("SandboxedExecute", "memory_gib"),
    "--cpu-seconds": ("SandboxedExecute", "cpu_seconds"),
    "--max-processes": ("SandboxedExecute", "max_processes"),
    "--max-output-kib": ("SandboxedExecute", "max_output_kib"),
}


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
    options.add_argument(
        "--course-root",
        type=Path,
        default=argparse.SUPPRESS if after_command else Path(os.environ.get("GRADER_COURSE_ROOT", REPO)),
        help="folder holding solutions/ and labs/ (default: $GRADER_COURSE_ROOT, else this repository)",
    )
    options.add_argument(
        "--course-dir",
        type=Path,
        default=argparse.SUPPRESS if after_command else os.environ.get("GRADER_COURSE_DIR") or None,
        help="folder for the gradebook, submissions, graded copies and feedback "
        "(default: $GRADER_COURSE_DIR, else COURSE_ROOT/grading)",
    )
    options.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS if after_command else False,
        help="show nbgrader's own log",
    )
    return options


def limit_options(parser: argparse.ArgumentParser) -> None:
    """One flag per grading limit, its help and default read from the trait that declares it."""
    from grader.execute import SandboxedExecute  # the one module that declares them (about 1 s to import)

    configured = Course(REPO).config()
    for flag, (section, name) in LIMIT_FLAGS.items():
        trait = SandboxedExecute.class_traits()[name]
        default = configured[section].get(name, trait.default()) if section in configured else trait.default()
        kind = float if isinstance(trait, Float) else int if isinstance(trait, Int) else str
        parser.add_argument(
            flag,
            type=kind,
            default=argparse.SUPPRESS,
            metavar=kind.__name__.upper(),
            help=f"{trait.help.strip()} (c.{section}.{name} in nbgrader_config.py; this course: {default})",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__, parents=[course_options(False)])
    commands = parser.add_subparsers(dest="command", required=True)
    after = course_options(True)

    def command(name: str, **kwargs) -> argparse.ArgumentParser:
        return commands.add_parser(name, parents=[after], **kwargs)

    rel = command("release", help="regenerate labs/ from solutions/ with nbgrader")
    rel.add_argument("labs", nargs="*", help="lab ids (default: every lab in solutions/)")
    command("check", help="exit 1 and name every lab whose labs/ copy differs from what release would write")
    publish = command(
        "publish", help="write the student edition (labs, course library, tutor; no solutions) to a new folder"
    )
    publish.add_argument(
        "folder", type=Path, help="a new or empty folder; it becomes a git repository to share with students"
    )

    handout = command("handout", help="copy labs/<lab> to nbgrader's exchange, where students fetch it")
    handout.add_argument("--lab", required=True, help="the lab to hand out, e.g. lab01_data")
    handout.add_argument("--due", default=None, help="due date, e.g. 2026-12-09T17:00 (UTC unless a zone is given)")
    handout.add_argument("--replace", action="store_true", help="hand out a corrected lab in place of the one out")

    grade = command("autograde", help="grade a folder or LMS zip of submissions, in parallel sandboxes")
    grade.add_argument(
        "submissions",
        type=Path,
        nargs="?",
        help="folder of <student>/<lab>.ipynb (or <student>/<lab>/<lab>.ipynb), or an LMS zip",
    )
    grade.add_argument(
        "--from-exchange",
        action="store_true",
        help="collect the submissions from nbgrader's exchange instead (timestamps kept for late penalties)",
    )
    grade.add_argument("--lab", required=True, help="the lab these notebooks answer, e.g. lab01_data")
    grade.add_argument("--jobs", type=int, default=None, help="notebooks graded at once (default: the number of cores)")
    grade.add_argument("--student", default=None, help="grade (or regrade) only this student")
    grade.add_argument(
        "--sandbox",
        choices=("best", "strict"),
        default="best",
        help="strict: refuse to grade when this machine lacks an isolation feature (default: best)",
    )
    limit_options(grade)

    feedback = command("feedback", help="write one HTML report per graded student and lab")
    feedback.add_argument("--lab", default=None, help="only this lab (default: every graded lab)")
    feedback.add_argument(
        "--to-exchange",
        action="store_true",
        help="also return each report through nbgrader's exchange, to its student's Fetch Feedback (needs --lab)",
    )

    link = command("pull-link", help="an nbgitpuller link that opens a lab of the student edition on a hub")
    link.add_argument("--hub", required=True, help="the hub's public address, e.g. https://hub.example.edu")
    link.add_argument("--repo", required=True, help="the student edition's https clone URL")
    link.add_argument("--lab", required=True, help="the lab to open, e.g. lab01_data")
    link.add_argument("--branch", default="main", help="the edition's branch (default: main)")

    export = command("export", help="write the gradebook's scores as CSV, or as a Canvas gradebook import")
    export.add_argument("--format", choices=("csv", "canvas"), default="csv")
    export.add_argument("--out", type=Path, required=True, help="the file to write")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "autograde" and (args.submissions is None) == (not args.from_exchange):
        parser.error("autograde takes a folder or zip of submissions, or --from-exchange (one of them)")
    if args.command == "feedback" and args.to_exchange and args.lab is None:
        parser.error("feedback --to-exchange returns one lab's reports: add --lab")
    show_log(verbose=args.verbose)
    put_environment_scripts_on_path()
    course = Course(args.course_root, args.course_dir)
    try:
        if args.command in ("release", "check"):
            return _release_or_check(course, args)
        if args.command == "publish":
            return _publish(course, args)
        if args.command == "pull-link":
            return _pull_link(course, args)
        return _grading_command(course, args)
    except GraderError as error:
        log.error("error: %s", error)
        return 2


def show_log(verbose: bool) -> None:
    """The grader's messages on stderr, one line each; with ``verbose``, nbgrader's log of each step too."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if verbose else logging.INFO)
    log.propagate = False


def _release_or_check(course: Course, args: argparse.Namespace) -> int:
    from grader.release import check, release

    if args.command == "release":
        for line in release(course, args.labs or None):
            print(line)
        return 0
    problems = check(course)
    for line in problems:
        log.error(line)
    if problems:
        log.error("labs/ is out of date: run `python -m grader release` and commit labs/ and course/fingerprints/.")
        return 1
    print(f"labs/ matches solutions/ ({len(course.source_labs())} labs)")
    return 0


def _publish(course: Course, args: argparse.Namespace) -> int:
    from grader.publish import publish

    files = publish(course, args.folder)
    print(
        f"wrote the student edition to {args.folder} ({len(files)} files, one git commit): "
        "students run `make lab` there; it holds no solution or hidden test"
    )
    return 0


def _pull_link(course: Course, args: argparse.Namespace) -> int:
    from grader.pull_link import pull_link

    try:
        print(pull_link(args.hub, args.repo, args.lab, args.branch, labs=course.released_labs()))
    except ValueError as error:
        raise GraderError(str(error)) from error
    return 0


def _grading_command(course: Course, args: argparse.Namespace) -> int:
    # Imported here: release, check and publish have no use for the grading pipeline, the gradebook or reports.
    from grader import autograde, exchange, export, feedback
    from grader.sandbox import probe

    if args.command == "handout":
        outbound = exchange.hand_out(course, args.lab, due=args.due, replace=args.replace)
        print(f"handed out {args.lab} at {outbound}: students fetch it from the Assignments tab")
        return 0
    if args.command == "autograde":
        log.info(probe().describe())
        report = autograde.autograde(
            course,
            args.submissions,
            args.lab,
            jobs=args.jobs,
            student=args.student,
            overrides=command_line_settings(args),
        )
        for line in report.skipped:
            log.warning("skipped: %s", line)
        for student, problem in sorted(report.problems.items()):
            log.warning("%s: %s", student, problem)
        print(export.summary(course, args.lab, report))
        return 0
    if args.command == "feedback":
        written = feedback.write_all(course, args.lab)
        print(f"wrote {len(written)} feedback reports under {course.feedback}")
        if args.to_exchange:
            returned = exchange.return_feedback(course, args.lab, written)
            print(f"returned {returned} of them through the exchange: students use Fetch Feedback")
        return 0
    rows = export.write(course, args.format, args.out)
    print(f"wrote {rows} rows to {args.out}")
    return 0


def command_line_settings(args: argparse.Namespace) -> Config:
    """The limits and sandbox mode given on the command line, as nbgrader configuration."""
    settings = Config()
    for flag, (section, name) in LIMIT_FLAGS.items():
        value = getattr(args, flag.lstrip("-").replace("-", "_"), None)
        if value is not None:
            settings[section][name] = value
    if args.sandbox == "strict":
        settings.SandboxedExecute.strict = True
    return settings

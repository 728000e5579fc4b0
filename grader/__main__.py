"""``python -m grader``: the instructor's command line (see ``--help``)."""

from grader.cli import main

if __name__ == "__main__":  # grading workers re-import this module when they start
    raise SystemExit(main())

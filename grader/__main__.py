"""``python -m grader``: the instructor's command line (see ``--help``)."""

from grader.cli import main

raise SystemExit(main())

"""nbgrader configuration for ML Systems Labs: ``solutions/`` is the source, ``labs/`` the release.

This is a plain nbgrader config file: ``python -m grader`` loads it, and so do
nbgrader's own commands when given ``--config grader/nbgrader_config.py``.
Instructor state (the gradebook, submissions, feedback) lives in ``grading/``,
which git ignores.
"""

import os

c = get_config()  # noqa: F821 -- provided by traitlets when it loads this file

repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

c.CourseDirectory.course_id = "ml-systems-labs"
# nbgrader's exchange, where a class hub's students fetch labs and submit them (deploy/README.md): the hub sets
# MSL_EXCHANGE for every user, instructors included; elsewhere nbgrader's default stands.
if os.environ.get("MSL_EXCHANGE"):
    c.Exchange.root = os.environ["MSL_EXCHANGE"]
c.CourseDirectory.root = repo
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "labs"
# Everything an instructor's grading produces stays in the git-ignored grading/.
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(repo, "grading", "gradebook.db")
c.CourseDirectory.submitted_directory = os.path.join("grading", "submitted")
c.CourseDirectory.autograded_directory = os.path.join("grading", "autograded")
c.CourseDirectory.feedback_directory = os.path.join("grading", "feedback")

# What a lab writes while it runs (exported models, logs, caches) never reaches students:
# release, check and publish skip every file or folder whose name matches one of these
# globs (nbgrader's own defaults first). A lab writes its run-time files under models/,
# outputs/ or logs/ beside its notebook (see docs/authoring.md).
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    "models",
    "outputs",
    "logs",
    "*.log",
    ".nbgrader.log",
]

# What students see where a solution was: a clear stub that fails loudly.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Labs train small TensorFlow models: give a cell minutes, not nbgrader's 30 s.
c.Execute.timeout = 300
# python -m grader's other limits are settings of its Execute step, declared (with their help and defaults)
# in grader/execute.py; set one here for every run, e.g. c.SandboxedExecute.memory_gib = 6, or on the
# command line for one (python -m grader autograde --help lists them).

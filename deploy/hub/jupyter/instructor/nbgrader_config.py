"""nbgrader for an instructor on the class hub: their clone of the course, as Formgrader and nbgrader see it.

The hub puts this folder on each instructor's JUPYTER_CONFIG_PATH and sets GRADER_COURSE_ROOT
to the clone in their home (``hubctl.py users`` makes it), so Formgrader, plain nbgrader and
``python -m grader`` all work on the same course, gradebook and exchange (MSL_EXCHANGE).
"""

import os

load_subconfig(os.path.join(os.environ["GRADER_COURSE_ROOT"], "nbgrader_config.py"))  # noqa: F821 -- traitlets

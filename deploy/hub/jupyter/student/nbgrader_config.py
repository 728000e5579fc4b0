"""nbgrader for a student on the class hub: the course and the exchange its Assignments tab works with.

The hub puts this folder on each student's JUPYTER_CONFIG_PATH and sets both values
(deploy/hub/jupyterhub_config.py); students have no course folder of their own.
"""

import os

c = get_config()  # noqa: F821 -- provided by traitlets when it loads this file
c.CourseDirectory.course_id = os.environ["MSL_COURSE_ID"]
c.Exchange.root = os.environ["MSL_EXCHANGE"]

"""The instructor's tooling around nbgrader: release the labs, check them, grade them.

Everything goes through nbgrader's own applications and its configuration
(:mod:`grader.nbgrader_config`); this package adds the course's conventions
and a command line, ``python -m grader``.
"""

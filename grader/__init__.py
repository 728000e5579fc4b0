"""The instructor's tooling around nbgrader: release the labs, check them, grade them, return and export grades.

Everything goes through nbgrader's own applications and its configuration
(``nbgrader_config.py``); this package adds the course's conventions and a command
line, ``python -m grader``. Modules, one job each:

- :mod:`grader.cli`          -- the command line: flags, logging, one error line;
- :mod:`grader.layout`       -- where a course keeps its labs, its configuration and its state (``Course``);
- :mod:`grader.errors`       -- ``GraderError``, the one error family, and an nbgrader failure's root cause;
- :mod:`grader.cells`        -- nbgrader's cell conventions: answer and test cells, solution and hidden regions;
- :mod:`grader.release`      -- ``labs/`` from ``solutions/`` with nbgrader, and the check that they agree;
- :mod:`grader.fingerprints` -- the tutor's salted view of each solution, written at release;
- :mod:`grader.publish`      -- the student edition, searched for leaks before it is written;
- :mod:`grader.submissions`  -- each student's notebook found in a folder or an LMS zip, and staged;
- :mod:`grader.autograde`    -- nbgrader's autograde pipeline with the course's steps, in parallel workers;
- :mod:`grader.preprocessors` -- the course's sanitizing steps (copied and deleted cells);
- :mod:`grader.execute`      -- the Execute step in the sandbox, with the grading limits as settings;
- :mod:`grader.sandbox`      -- bubblewrap, rlimits and a pids cgroup around each kernel;
- :mod:`grader.confine`      -- applies those limits in the kernel's process before it starts;
- :mod:`grader.kernel`       -- the guarded kernel that runs hidden tests on a path students cannot touch;
- :mod:`grader.faults`       -- what went wrong in a graded run, kept for feedback and the summary;
- :mod:`grader.feedback`     -- one HTML report per student, hidden tests never shown;
- :mod:`grader.export`       -- scores as CSV or a Canvas gradebook import, and the summary line.
"""

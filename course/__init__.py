"""The course library that every lab imports.

Import it first in a lab: importing it sets TensorFlow's logging up before
TensorFlow loads, because nbgrader scores a test cell that writes anything to
stderr as failed.

Modules, one job each:

- :mod:`course.hardware` -- device budgets (SRAM, flash, throughput, ...) with sources;
- :mod:`course.cluster`  -- Lab 6's ring of worker processes (and the same ring in threads, for tests);
- :mod:`course.datasets` -- the labs' offline datasets, including Lab 1's raw variant;
- :mod:`course.drift`    -- Lab 5's seeded production stream with named drift scenarios;
- :mod:`course.llm`      -- Lab 7's text corpus, model shapes and request traces;
- :mod:`course.measure`  -- timing with warm-up, repeats and percentiles;
- :mod:`course.micro`    -- a stand-in for TFLite Micro's interpreter where its wheel does not exist;
- :mod:`course.quiet`    -- quiet TensorFlow start-up;
- :mod:`course.reader`   -- each lab's reading, shown inside the notebook;
- :mod:`course.serving`  -- Lab 4's background web server and load generator, which never outlive the notebook;
- :mod:`course.tflite`   -- LiteRT and TensorFlow Lite Micro, quiet enough for graded cells.

Beside the code live the course's texts: ``readings/``, the tutor's ``hints/`` and
``quizzes/`` (one file per lab, keyed by grade_id), ``errors.toml`` and ``syllabus.md``.
"""

from course import quiet

quiet.configure()

from course.quiet import import_tensorflow  # noqa: E402
from course.reader import reading  # noqa: E402

__all__ = ["import_tensorflow", "reading"]

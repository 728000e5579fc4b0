"""SocratiQ, the course's AI tutor: an IPython extension with an ipywidgets panel.

In a lab::

    %load_ext socratiq_ext
    %socratiq

From Python (scripts, tests)::

    from socratiq_ext import Tutor
    t = Tutor(lab="lab01_data")
    t.hint(); t.ask("why cache before augmenting?"); t.quiz(); t.progress()

Modules, one job each: ``config`` (settings), ``content`` (the course's hint ladders,
quiz banks, readings and error catalogue), ``context`` (which exercise, which error),
``retrieval`` (passages that answer a question), ``guardrails`` and ``prompts`` (what the
LLM is told and what it may show), ``llm`` (the openai client and its failures),
``offline`` (answers from the course material alone), ``progress`` (SQLite store and
dashboard), ``tutor`` (the actions), ``panel`` (the widgets) and ``extension`` (IPython).
"""

from socratiq_ext.extension import load_ipython_extension, unload_ipython_extension
from socratiq_ext.tutor import Reply, Tutor

__all__ = ["Reply", "Tutor", "load_ipython_extension", "unload_ipython_extension"]

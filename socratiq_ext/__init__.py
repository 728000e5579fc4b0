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

import importlib

# Loaded on first use: the hub's LLM service and config import socratiq_ext.hub_service, which needs none of
# IPython or the tutor (seconds to import).
_EXPORTS = {
    "Reply": "socratiq_ext.tutor",
    "Tutor": "socratiq_ext.tutor",
    "load_ipython_extension": "socratiq_ext.extension",
    "unload_ipython_extension": "socratiq_ext.extension",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'socratiq_ext' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)

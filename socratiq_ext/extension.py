"""The IPython side: ``%load_ext socratiq_ext`` and the ``%socratiq`` magic.

The extension keeps a short record of the cells the kernel ran and how they
ended, which is how the tutor knows the exercise a student is on and the error
to explain.
"""

from __future__ import annotations

from IPython.core.magic import Magics, line_magic, magics_class
from IPython.display import display

from socratiq_ext.config import ConfigError
from socratiq_ext.content import ContentError
from socratiq_ext.context import CellRun, ErrorInfo
from socratiq_ext.tutor import Tutor

HISTORY_LENGTH = 200


class CellRecorder:
    """Listens to IPython's ``post_run_cell`` event and keeps the last cells run."""

    def __init__(self, shell):
        self.history: list[CellRun] = [CellRun(source) for source in shell.user_ns.get("In", [])[1:]]
        self.tutors: dict[str | None, Tutor] = {}

    def post_run_cell(self, result) -> None:
        error = result.error_in_exec or result.error_before_exec
        source = result.info.raw_cell if result.info is not None else ""
        self.history.append(CellRun(source, ErrorInfo.from_exception(error, source) if error else None))
        del self.history[:-HISTORY_LENGTH]


@magics_class
class SocratiqMagics(Magics):
    def __init__(self, shell, recorder: CellRecorder):
        super().__init__(shell)
        self.recorder = recorder

    @line_magic
    def socratiq(self, line: str) -> None:
        """Show the SocratiQ panel: ``%socratiq`` (lab found from the notebook) or ``%socratiq lab01_data``."""
        lab = line.strip() or None
        try:
            if lab not in self.recorder.tutors:
                self.recorder.tutors[lab] = Tutor(lab, history=self.recorder.history)
            display(self.recorder.tutors[lab].panel())
        except (ContentError, ConfigError) as error:
            print(f"SocratiQ: {error}")


def load_ipython_extension(shell) -> None:
    recorder = CellRecorder(shell)
    shell.events.register("post_run_cell", recorder.post_run_cell)
    shell.register_magics(SocratiqMagics(shell, recorder))
    shell._socratiq_recorder = recorder  # so that unloading finds it


def unload_ipython_extension(shell) -> None:
    recorder = getattr(shell, "_socratiq_recorder", None)
    if recorder is not None:
        shell.events.unregister("post_run_cell", recorder.post_run_cell)

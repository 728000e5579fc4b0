"""The IPython side: ``%load_ext socratiq_ext`` and the ``%socratiq`` magic.

Loading the extension starts a record of the cells the kernel runs and how they
end, which is how the tutor knows the exercise a student is on and the error to
explain.
"""

from __future__ import annotations

from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.display import display

from socratiq_ext import context
from socratiq_ext.config import ConfigError
from socratiq_ext.content import ContentError, known_labs
from socratiq_ext.context import detect_lab
from socratiq_ext.tutor import Tutor


@magics_class
class SocratiqMagics(Magics):
    """``%socratiq [lab]``; one tutor per lab and kernel, so hint levels survive re-running the cell."""

    def __init__(self, shell):
        super().__init__(shell)
        self.tutors: dict[str | None, Tutor] = {}  # by lab: `%socratiq` and `%socratiq lab01_data` share one

    @line_magic
    def socratiq(self, line: str) -> None:
        """Show the SocratiQ panel: ``%socratiq`` (lab found from the notebook) or ``%socratiq lab01_data``."""
        try:
            lab = line.strip() or detect_lab(known_labs())
            if lab not in self.tutors:
                self.tutors[lab] = Tutor(lab)
            display(self.tutors[lab].panel())
        except (ContentError, ConfigError) as error:
            print(f"SocratiQ: {error}")
        except Exception as error:  # noqa: BLE001 - a lab's setup cell must never end in a traceback
            print(f"SocratiQ could not start ({type(error).__name__}: {error}): the lab works without it")


def load_ipython_extension(shell: InteractiveShell) -> None:
    if context.recorder is None:
        context.recorder = context.CellRecorder(shell)
        shell.events.register("post_run_cell", context.recorder.post_run_cell)
    shell.register_magics(SocratiqMagics(shell))


def unload_ipython_extension(shell: InteractiveShell) -> None:
    if context.recorder is not None:
        shell.events.unregister("post_run_cell", context.recorder.post_run_cell)
        context.recorder = None

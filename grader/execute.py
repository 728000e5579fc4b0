"""nbgrader's Execute step, run in the sandbox, bounded, and honest about faults.

:class:`SandboxedExecute` replaces nbgrader's ``Execute`` in the autograde
pipeline. It starts the kernel through :class:`grader.sandbox.SandboxedKernelManager`,
marks each cell for :mod:`grader.kernel` (test, locked or student code), and
bounds the run: a cell past its time limit, a kernel that dies, or a
notebook that prints without end stops the run there. The cells before the
fault keep what they earned; every test cell after it gets an error output
that says why it did not run, so nbgrader scores it 0 (an unexecuted test cell
would otherwise count as passed), and the explanation is kept for feedback.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Sequence
from pathlib import Path

from nbclient.util import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import Execute
from traitlets import Bool, Instance

from grader.kernel import HEADER
from grader.preprocessors import grader_notes
from grader.sandbox import Limits, SandboxedKernelManager, SandboxUnavailable, probe

FAULTS_FILE = "grader.json"


def cell_kind(cell: NotebookNode) -> str:
    """How :mod:`grader.kernel` must run a cell: ``test``, ``locked`` or ``student``."""
    if utils.is_grade(cell) and not utils.is_solution(cell):
        return "test"
    if utils.is_locked(cell):
        return "locked"
    return "student"


def write_faults(folder: Path, faults: list[str], isolation: str, notes: Sequence[str] = ()) -> None:
    """Keep why a notebook's run stopped or went wrong, and what the grader changed in it, for feedback and the summary."""
    (folder / FAULTS_FILE).write_text(json.dumps({"faults": faults, "notes": list(notes), "sandbox": isolation}, indent=1))


def read_faults(folder: Path) -> dict:
    """What :class:`SandboxedExecute` recorded for one graded notebook folder ({} if nothing)."""
    path = folder / FAULTS_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


class SandboxedExecute(Execute):
    """Execute a submission in its own sandboxed, guarded kernel."""

    limits = Instance(Limits, args=()).tag(config=True)
    strict = Bool(False, help="refuse to grade when an isolation feature is missing").tag(config=True)
    interrupt_on_timeout = Bool(False, help="a cell past its limit ends the run: see preprocess_cell()")

    def create_kernel_manager(self):
        self.km = SandboxedKernelManager(limits=self.limits, work_dir=self._work_dir, config=self.config)
        return self.km

    def preprocess(self, nb, resources=None, km=None):
        isolation = probe()
        if self.strict and isolation.missing:
            raise SandboxUnavailable(isolation.describe())
        self._work_dir = str(Path(resources["metadata"]["path"]).resolve())
        self._printed = 0
        self._overflowed = False
        self._faults: list[str] = []
        self._notes: list[str] = []
        changed = grader_notes(nb)
        try:
            return super().preprocess(nb, resources, km)
        finally:
            write_faults(Path(self._work_dir), self._faults + self._notes, isolation.describe(), changed)

    def preprocess_cell(self, cell, resources, index):
        if self._faults:
            return self._not_run(cell), resources
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:
            self._fault(cell, index, self._process_cap_hit() or
                        f"it ran past the {self.limits.cell_timeout}-second limit per cell")
        except DeadKernelError:
            self._fault(cell, index, self._process_cap_hit() or self._why_the_kernel_died())
        else:
            too_many_processes = self._process_cap_hit()
            if too_many_processes:
                self._fault(cell, index, too_many_processes)
            elif any(output.get("ename") == "MemoryError" for output in cell.get("outputs", [])):
                self._notes.append(f"{_name(cell, index)}: it ran out of memory (the cap is "
                                   f"{self.limits.memory_bytes / 1024**3:g} GiB); the run went on")
        if self._faults:
            self.km.kill_process_tree()
        return cell, resources

    def _get_timeout(self, cell):
        return self.limits.cell_timeout

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        source = cell.source
        if cell.cell_type == "code" and source.strip():
            cell.source = f"{HEADER}{cell_kind(cell)}\n{source}"
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        finally:
            cell.source = source

    execute_cell = run_sync(async_execute_cell)

    def output(self, outs, msg, display_id, cell_index):
        self._printed += len(json.dumps(msg.get("content", {})))
        if self._printed <= self.limits.output_bytes:
            return super().output(outs, msg, display_id, cell_index)
        if not self._overflowed:
            self._overflowed = True
            outs.append(NotebookNode(output_type="stream", name="stderr",
                                     text=f"\n[grader: output stopped after {self.limits.output_bytes // 1024} KiB]\n"))
            self.km.kill_process_tree()
        return None

    def _process_cap_hit(self) -> str | None:
        """Why the run must stop if the kernel tried to fork past its cap (its copies run on), else None."""
        if self.km.hit_process_cap():
            return f"it tried to start more than {self.limits.processes} processes"
        return None

    def _why_the_kernel_died(self) -> str:
        if self._overflowed:
            return f"it printed more than the {self.limits.output_bytes // 1024} KiB a notebook may print"
        status = self.km.provisioner.process.poll() if self.km and self.km.provisioner else None
        if status in (-signal.SIGXCPU, 128 + signal.SIGXCPU):
            return f"the kernel used up its {self.limits.cpu_seconds} s of CPU time"
        if status in (-signal.SIGKILL, 128 + signal.SIGKILL):
            return "the kernel was killed: out of memory, too many processes, or by its own code"
        return f"the kernel stopped (exit status {status})" if status is not None else "the kernel stopped"

    def _fault(self, cell: NotebookNode, index: int, reason: str) -> None:
        self._faults.append(f"{_name(cell, index)}: {reason}; later cells were not run")
        cell.outputs.append(NotebookNode(output_type="error", ename="GradingStopped", evalue=self._faults[-1],
                                         traceback=[f"GradingStopped: {self._faults[-1]}"]))

    def _not_run(self, cell: NotebookNode) -> NotebookNode:
        if cell.cell_type == "code" and cell_kind(cell) == "test":
            cell.outputs = [NotebookNode(output_type="error", ename="NotRun", evalue=self._faults[0],
                                         traceback=[f"NotRun: {self._faults[0]}"])]
        return cell


def _name(cell: NotebookNode, index: int) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index + 1}"

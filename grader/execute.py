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
import os
import signal
from pathlib import Path

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Float, Int

from grader.cells import grade_id, kind
from grader.faults import write_faults
from grader.kernel import HEADER
from grader.preprocessors import grader_notes
from grader.sandbox import Limits, SandboxedKernelManager, probe

GiB = 1024**3
KiB = 1024


class SandboxedExecute(Execute):
    """Execute a submission in its own sandboxed, guarded kernel.

    Each limit is a setting, declared here once: ``c.SandboxedExecute.memory_gib = 6`` in
    ``nbgrader_config.py`` or ``--memory-gib 6`` on ``python -m grader autograde`` (which
    lists them in ``--help``). The time a cell may take is nbgrader's own ``Execute.timeout``.
    """

    memory_gib = Float(
        4.0,
        help="Address space one graded kernel may map, in GiB: TensorFlow alone maps about "
        "2.8 GiB. Past it, allocations fail with MemoryError.",
    ).tag(config=True)
    cpu_seconds = Int(
        1800,
        help="CPU seconds one notebook's kernel may use, all its cells and processes "
        "together; past them the kernel is stopped.",
    ).tag(config=True)
    max_processes = Int(
        512, help="Tasks (processes and threads) one kernel may run: TensorFlow starts dozens, a fork bomb thousands."
    ).tag(config=True)
    max_output_kib = Int(
        4096, help="What one notebook may print, in KiB over all its cells; past it the run stops there."
    ).tag(config=True)
    max_file_gib = Float(1.0, help="The largest file a kernel may write, in GiB.").tag(config=True)
    kernel_threads = Int(
        0,
        help="Threads each kernel's TensorFlow and BLAS pools use (0: all cores). "
        "python -m grader sets it to the cores divided by --jobs.",
    ).tag(config=True)
    strict = Bool(
        False, help="Refuse to grade when this machine lacks an isolation feature (bubblewrap, a pids cgroup)."
    ).tag(config=True)
    interrupt_on_timeout = Bool(False, help="A cell past its limit ends the run: see preprocess_cell().")

    @property
    def output_bytes(self) -> int:
        return self.max_output_kib * KiB

    def limits(self) -> Limits:
        """What the kernel process gets, from these settings."""
        return Limits(
            memory_bytes=int(self.memory_gib * GiB),
            cpu_seconds=self.cpu_seconds,
            processes=self.max_processes,
            file_bytes=int(self.max_file_gib * GiB),
            threads=self.kernel_threads or os.cpu_count() or 1,
        )

    def create_kernel_manager(self):
        self.km = SandboxedKernelManager(limits=self.limits(), work_dir=self._work_dir, config=self.config)
        return self.km

    def preprocess(self, nb, resources=None, km=None):
        isolation = probe()
        if self.strict:
            isolation.require_all()
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
            self._fault(cell, index, self._process_cap_hit() or f"it ran past the {self.timeout}-second limit per cell")
        except DeadKernelError:
            self._fault(cell, index, self._process_cap_hit() or self._why_the_kernel_died())
        else:
            too_many_processes = self._process_cap_hit()
            if too_many_processes:
                self._fault(cell, index, too_many_processes)
            elif any(output.get("ename") == "MemoryError" for output in cell.get("outputs", [])):
                self._notes.append(
                    f"{_name(cell, index)}: it ran out of memory (the cap is {self.memory_gib:g} GiB); the run went on"
                )
        if self._faults:
            self.km.kill_process_tree()
        return cell, resources

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        source = cell.source
        if cell.cell_type == "code" and source.strip():
            cell.source = f"{HEADER}{kind(cell)}\n{source}"
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        finally:
            cell.source = source

    execute_cell = run_sync(async_execute_cell)

    def output(self, outs, msg, display_id, cell_index):
        self._printed += len(json.dumps(msg.get("content", {})))
        if self._printed <= self.output_bytes:
            return super().output(outs, msg, display_id, cell_index)
        if not self._overflowed:
            self._overflowed = True
            outs.append(
                NotebookNode(
                    output_type="stream",
                    name="stderr",
                    text=f"\n[grader: output stopped after {self.output_bytes // 1024} KiB]\n",
                )
            )
            self.km.kill_process_tree()
        return None

    def _process_cap_hit(self) -> str | None:
        """Why the run must stop if the kernel tried to fork past its cap (its copies run on), else None."""
        if self.km.hit_process_cap():
            return f"it tried to start more than {self.max_processes} processes"
        return None

    def _why_the_kernel_died(self) -> str:
        if self._overflowed:
            return f"it printed more than the {self.output_bytes // 1024} KiB a notebook may print"
        status = self.km.provisioner.process.poll() if self.km and self.km.provisioner else None
        if status in (-signal.SIGXCPU, 128 + signal.SIGXCPU):
            return f"the kernel used up its {self.cpu_seconds} s of CPU time"
        if status in (-signal.SIGKILL, 128 + signal.SIGKILL):
            return "the kernel was killed: out of memory, too many processes, or by its own code"
        return f"the kernel stopped (exit status {status})" if status is not None else "the kernel stopped"

    def _fault(self, cell: NotebookNode, index: int, reason: str) -> None:
        self._faults.append(f"{_name(cell, index)}: {reason}; later cells were not run")
        cell.outputs.append(
            NotebookNode(
                output_type="error",
                ename="GradingStopped",
                evalue=self._faults[-1],
                traceback=[f"GradingStopped: {self._faults[-1]}"],
            )
        )

    def _not_run(self, cell: NotebookNode) -> NotebookNode:
        if cell.cell_type == "code" and kind(cell) == "test":
            cell.outputs = [
                NotebookNode(
                    output_type="error",
                    ename="NotRun",
                    evalue=self._faults[0],
                    traceback=[f"NotRun: {self._faults[0]}"],
                )
            ]
        return cell


def _name(cell: NotebookNode, index: int) -> str:
    return grade_id(cell) or f"cell {index + 1}"

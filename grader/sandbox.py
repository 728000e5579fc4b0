"""Where a student's kernel runs: a private view of the machine, with limits.

Each graded notebook gets a kernel of its own, started through
bubblewrap (``bwrap``, the sandbox Flatpak uses) so that it sees only the
Python installation, the course library and a private copy of that student's
notebook -- not ``solutions/``, not the gradebook, not other students' work --
in its own network namespace (loopback only) and its own PID namespace. The
kernel talks to the grader over ZeroMQ's IPC transport (Unix sockets in a
directory shared with the sandbox), so no TCP port has to cross namespaces.

Resource limits are set by :mod:`grader.confine` just before ``bwrap`` starts:
address space (memory), CPU time, file size, and a process cap through a pids
cgroup where the machine lets us create one. Whatever the machine cannot
provide is named by :func:`probe` in one line; ``--sandbox strict`` refuses to
grade without it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Instance, Unicode

from grader.errors import GraderError

REPO = Path(__file__).resolve().parent.parent
# Packages the labs import from this repository (an editable install points here).
COURSE_PACKAGES = ("course", "socratiq_ext", "grader")
PIDS_CGROUP_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))
# What a kernel may read from /etc: the loader, users, time zone and fonts -- not the rest.
ETC_ENTRIES = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "passwd",
    "group",
    "nsswitch.conf",
    "localtime",
    "hosts",
    "fonts",
    "alternatives",
    "ssl",
)


class SandboxUnavailable(GraderError):
    """``--sandbox strict`` was asked for on a machine that lacks an isolation feature."""


@dataclass(frozen=True)
class Limits:
    """What one student's kernel process may use, as :mod:`grader.confine` applies it.

    The values are settings of :class:`grader.execute.SandboxedExecute`, declared there once with their help.
    """

    memory_bytes: int  # address space
    cpu_seconds: int
    processes: int  # tasks, threads included
    file_bytes: int
    threads: int  # per kernel: parallel grading gives each kernel its share of the cores


@dataclass(frozen=True)
class Isolation:
    """Which isolation features this machine provides."""

    bwrap: str | None  # path of a working bubblewrap, or None
    pids_cgroup: Path | None  # a cgroup folder we may create children in, or None
    missing: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for the instructor: what protects the kernels, and what does not."""
        if not self.missing:
            return "sandbox: private file view, no network, PID namespace, memory/CPU/process/output caps"
        return "sandbox: " + "; ".join(self.missing)

    def require_all(self) -> None:
        """Raise :class:`SandboxUnavailable`, naming what is missing, unless every feature works here."""
        if self.missing:
            raise SandboxUnavailable(f"--sandbox strict: {self.describe()}")


@lru_cache(maxsize=1)
def probe() -> Isolation:
    """Find out once which isolation features work here (cached per process)."""
    missing = []
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        missing.append(
            "bubblewrap (bwrap) is not installed, so kernels can reach the network and the "
            "whole file system: install the `bubblewrap` package"
        )
    elif not _bwrap_works(bwrap):
        bwrap = None
        missing.append(
            "bubblewrap cannot create namespaces here (user namespaces disabled?), so kernels "
            "can reach the network and the whole file system"
        )
    cgroup = _pids_cgroup_root()
    if cgroup is None and os.geteuid() == 0:
        missing.append("no writable pids cgroup, so the process cap is not enforced for root")
    return Isolation(bwrap=bwrap, pids_cgroup=cgroup, missing=tuple(missing))


def _bwrap_works(bwrap: str) -> bool:
    command = [bwrap, "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "--dev", "/dev", "true"]
    try:
        return subprocess.run(command, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _pids_cgroup_root() -> Path | None:
    for root in PIDS_CGROUP_ROOTS:
        if (root / "cgroup.procs").exists() and os.access(root, os.W_OK):
            try:
                probe_dir = root / f"grader-probe-{uuid.uuid4().hex[:8]}"
                probe_dir.mkdir()
                usable = (probe_dir / "pids.max").exists()
                probe_dir.rmdir()
            except OSError:
                continue
            if usable:
                return root
    return None


def kernel_environment(home: Path, threads: int) -> dict[str, str]:
    """The whole environment a graded kernel gets: nothing of the grader's, no keys."""
    threads = str(max(1, threads))
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "MPLBACKEND": "agg",
        "MPLCONFIGDIR": str(home / ".matplotlib"),
        "SOCRATIQ_HOME": str(home / ".socratiq"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        # Parallel kernels share the cores: one intra-op pool each, sized to its share.
        "TF_NUM_INTRAOP_THREADS": threads,
        "TF_NUM_INTEROP_THREADS": "1",
        "OMP_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "NBGRADER_EXECUTION": "autograde",
    }


def bwrap_command(bwrap: str, work_dir: Path, ipc_dir: Path, home: Path) -> list[str]:
    """``bwrap`` arguments that show the kernel only what it needs."""
    command = [
        bwrap,
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--tmpfs",
        "/tmp",
    ]
    for system in ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32"):
        command += ["--ro-bind-try", system, system]
    for entry in ETC_ENTRIES:
        command += ["--ro-bind-try", f"/etc/{entry}", f"/etc/{entry}"]
    for prefix in sorted({sys.base_prefix, sys.prefix}):
        command += ["--ro-bind", prefix, prefix]
    for package in COURSE_PACKAGES:
        if (REPO / package).is_dir():
            command += ["--ro-bind", str(REPO / package), str(REPO / package)]
    command += [
        "--bind",
        str(work_dir),
        str(work_dir),
        "--bind",
        str(ipc_dir),
        str(ipc_dir),
        "--bind",
        str(home),
        str(home),
        "--chdir",
        str(work_dir),
    ]
    return command


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start inside :mod:`grader.sandbox`'s confinement.

    The kernel is always this environment's IPython with the grader's guarded
    kernel class (:mod:`grader.kernel`), whatever kernelspec the notebook names.
    """

    limits = Instance(Limits, help="what the kernel process may use (set by SandboxedExecute)")
    work_dir = Unicode(help="the private folder holding this student's notebook copy").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._scratch = Path(tempfile.mkdtemp(prefix="grader-"))  # short: IPC paths are limited to ~100 bytes
        self._home = self._scratch / "home"
        self._home.mkdir()
        self.transport = "ipc"
        self.ip = str(self._scratch / "ipc" / "k")
        (self._scratch / "ipc").mkdir()
        self.connection_file = str(self._scratch / "ipc" / "kernel.json")
        self._cgroup: Path | None = None

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        isolation = probe()
        work_dir = Path(self.work_dir or os.getcwd()).resolve()
        kernel = [
            sys.executable,
            "-m",
            "ipykernel_launcher",
            "-f",
            self.connection_file,
            "--IPKernelApp.kernel_class=grader.kernel.GuardedKernel",
            *(extra_arguments or []),
        ]
        self._cgroup = _new_cgroup(isolation.pids_cgroup)
        env = kernel_environment(self._home, self.limits.threads)
        if isolation.bwrap:
            inner = [*bwrap_command(isolation.bwrap, work_dir, self._scratch / "ipc", self._home), "--", *kernel]
        else:
            inner = kernel
        settings = {**asdict(self.limits), "cgroup": str(self._cgroup) if self._cgroup else None, "environment": env}
        return [sys.executable, "-m", "grader.confine", json.dumps(settings), "--", *inner]

    async def _async_start_kernel(self, **kwargs) -> None:
        # The kernel's own banner and logs are not the instructor's business.
        kwargs.setdefault("stdout", subprocess.DEVNULL)
        kwargs.setdefault("stderr", subprocess.DEVNULL)
        await super()._async_start_kernel(**kwargs)

    start_kernel = _async_start_kernel

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart)
        if not restart:
            self.kill_process_tree()
            shutil.rmtree(self._scratch, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources

    def hit_process_cap(self) -> bool:
        """Whether the kernel has tried to start more processes than its cap allows."""
        try:
            events = (self._cgroup / "pids.events").read_text().split() if self._cgroup else []
        except OSError:
            return False
        return dict(zip(events[::2], events[1::2])).get("max", "0") != "0"

    def kill_process_tree(self) -> None:
        """Kill everything the kernel started, whether or not it is still attached to the kernel."""
        if self.provisioner is not None and getattr(self.provisioner, "pgid", None):
            try:
                os.killpg(self.provisioner.pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self._cgroup is not None:
            empty_and_remove(self._cgroup)
            self._cgroup = None


def _new_cgroup(root: Path | None) -> Path | None:
    if root is None:
        return None
    group = root / f"grader-{uuid.uuid4().hex[:12]}"
    try:
        group.mkdir()
    except OSError:
        return None
    return group


def empty_and_remove(group: Path) -> None:
    """Kill every process left in the cgroup ``group`` (what one run started), then remove it."""
    for _ in range(100):
        try:
            pids = [int(p) for p in (group / "cgroup.procs").read_text().split()]
        except OSError:
            return
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)
    try:
        group.rmdir()
    except OSError:
        pass

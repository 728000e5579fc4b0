"""How much memory a student's kernel needs, lab by lab: the numbers the class hub's limits come from.

    .venv/bin/python -m bench.memory [--labs lab01_data lab04_deploy] [--out deploy/lab_memory.toml]

1. Each lab's solution notebook (``solutions/<lab>/<lab>.ipynb``) runs the way a student who completed the
   lab runs it, *Restart Kernel and Run All Cells*: nbclient starts a fresh kernel and executes every cell,
   in a copy of the lab's folder under a temporary directory (``solutions/`` and ``labs/`` are never written).
2. The measure covers the kernel and every process it starts (Lab 4's prediction server, Lab 6's worker
   processes), by one of two methods, named in the output:

   - ``cgroup-v1`` / ``cgroup-v2``: where this process may create a memory cgroup (root, with the memory
     controller mounted), the kernel enters a fresh cgroup of its own, a child of this process's cgroup, before
     ipykernel starts (its kernelspec's command joins the cgroup, then execs ipykernel), so everything it
     starts is charged there. Its peak is the kernel's own record of the cgroup's highest charge
     (``memory.max_usage_in_bytes``, v2 ``memory.peak``): anonymous memory, page cache and kernel memory,
     the accounting a Kubernetes memory limit enforces, and nothing is missed between samples.
   - ``rss-sampled``: otherwise, the resident memory (RSS) of the kernel's process tree (its descendants and
     every process of its session), summed, read from ``/proc`` every 50 ms. A peak shorter than that can be
     missed, and a page shared by forked processes counts once per process.

   The RSS sampling runs beside a cgroup too, and a lab's peak is the higher of the two (the ``method``
   printed is the one it came from). A cgroup is charged for a file page only if it reads that page first: on a
   machine where TensorFlow's libraries are already in the page cache (another kernel loaded them) the cgroup
   misses the ~400 MiB of them that the kernel maps, which a student's fresh pod is charged for, and the RSS
   counts them. Where the cache was cold the cgroup is the higher, as it also counts the files read.
3. Prints a table (lab, peak MiB, method, seconds) and writes ``deploy/lab_memory.toml``, from which
   :func:`recommended_limits` derives the per-user memory and CPU of ``deploy/k8s/values.yaml``
   (``tests/deploy/test_deploy_files.py`` checks that the two agree). Exit status 1 if a lab fails.

Linux only: both measures read ``/proc`` (and ``/sys/fs/cgroup``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from tqdm import tqdm

from grader.sandbox import empty_and_remove

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
OUT = ROOT / "deploy" / "lab_memory.toml"
COMMAND = ".venv/bin/python -m bench.memory"
INTERVAL_S = 0.05
CELL_TIMEOUT_S = 600
MIB = 2**20
# What a lab writes next to its notebook while it runs (the course's CourseDirectory.ignore): not copied.
RUNTIME_FILES = ("models", "outputs", "logs", "*.log", ".ipynb_checkpoints", "__pycache__")

# The headroom recommended_limits adds to the labs' peaks, measured once on the machine that measured the labs:
# - JupyterLab's server (`jupyter lab`, this environment's extensions loaded, its page served): 127 MiB RSS, a
#   cgroup peak of 194 MiB;
# - a second kernel, one that has run a lab's setup cell (TensorFlow, the course and the tutor imported) and sits
#   idle: 311-313 MiB charged to a cgroup of its own (689 MiB RSS, but its libraries' pages are the same file
#   pages as the first kernel's, charged to the pod once), plus room for the state of a few cells.
SERVER_MIB = 200
SECOND_KERNEL_MIB = 384
STEP_MIB = 256
# CPU: the labs were written and timed for two cores (Lab 6's ring runs 4 worker processes that mostly
# wait on pipes; every notebook runs well within its cell timeouts on 2 cores); half a core is enough to
# keep an idle server and a student who is reading or typing responsive.
CPU_LIMIT = 2.0
CPU_GUARANTEE = 0.5


def recommended_limits(peaks: dict[str, float]) -> dict:
    """Per-user memory and CPU for the hub, from each lab's measured peak in MiB (``deploy/lab_memory.toml``).

    The rule, in MiB, each rounded *up* to a multiple of 256 MiB:

    - memory **limit** = the largest lab peak + ``SECOND_KERNEL_MIB`` + ``SERVER_MIB``. A pod over its
      limit is OOM-killed, so the limit must hold the heaviest lab run to its end, while JupyterLab's server
      runs beside it and a second kernel stays open (a scratch notebook, or the previous lab's, reopened):
      counted as an idle kernel that has imported the course, not a second lab at its peak, which would
      double the limit for a case that a restart avoids.
    - memory **guarantee** (Kubernetes' request) = the median lab peak + ``SERVER_MIB``: what a typical
      student uses at once. The scheduler places pods by their request, so a node with M MiB takes about
      M / guarantee students, and the gap up to the limit is the burst that the heavier labs borrow from
      students who are reading, not running.
    - CPU: ``CPU_LIMIT`` cores (the labs are timed for two) and ``CPU_GUARANTEE`` guaranteed.

    The 256 MiB steps keep the values file still when a lab's peak moves by a few MiB between measurements.

    Returns the values of z2jh's ``singleuser.memory`` and ``singleuser.cpu``: memory as KubeSpawner's byte
    strings, where ``M`` means MiB (``{"limit": "3072M", ...}``), CPU as numbers of cores.
    """
    if not peaks:
        raise ValueError("no lab peaks to size the limits from: run `python -m bench.memory` first")
    if any(not isinstance(v, int | float) or not math.isfinite(v) or v <= 0 for v in peaks.values()):
        raise ValueError(f"every peak must be a positive number of MiB, got {peaks}")

    def step(mib: float) -> int:
        return math.ceil(mib / STEP_MIB) * STEP_MIB

    limit = step(max(peaks.values()) + SECOND_KERNEL_MIB + SERVER_MIB)
    guarantee = step(statistics.median(peaks.values()) + SERVER_MIB)
    return {
        "memory": {"limit": f"{limit}M", "guarantee": f"{guarantee}M"},
        "cpu": {"limit": CPU_LIMIT, "guarantee": CPU_GUARANTEE},
    }


# --- the process tree, from /proc -------------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, session id) of ``pid``, or None when it has gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
    return int(fields[1]), int(fields[3])


def tree(root: int) -> set[int]:
    """``root``, its descendants, and every process of its session (``root`` leads one: jupyter_client
    starts kernels with ``start_new_session``), so that a daemon that re-parented itself still counts."""
    links = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (found := _stat(int(entry.name))) is not None:
            links[int(entry.name)] = found
    members = {pid for pid, (_, session) in links.items() if session == root}
    members.add(root)
    grew = True
    while grew:
        more = {pid for pid, (parent, _) in links.items() if parent in members} - members
        members |= more
        grew = bool(more)
    return {pid for pid in members if pid in links}


def rss_bytes(pids: set[int]) -> int:
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue  # it ended between the listing and the read
    return total


class RssSampler:
    """Sums the RSS of a process tree every ``interval`` seconds in a thread, keeping the highest sum."""

    def __init__(self, root: int, interval: float = INTERVAL_S):
        self.root, self.interval, self.peak = root, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self.peak = max(self.peak, rss_bytes(tree(self.root)))
            if self._stop.wait(self.interval):
                return


# --- a memory cgroup per run ------------------------------------------------------------------------------


@dataclass
class Cgroup:
    """A fresh memory cgroup under this process's own: processes that join it, and their children, are
    charged there (and still to every cgroup above it, so no limit of this machine is escaped)."""

    path: Path
    method: str  # "cgroup-v1" or "cgroup-v2"

    @property
    def procs(self) -> Path:
        return self.path / "cgroup.procs"

    def peak_bytes(self) -> int:
        name = "memory.max_usage_in_bytes" if self.method == "cgroup-v1" else "memory.peak"
        return int((self.path / name).read_text().split()[0])

    def pids(self) -> list[int]:
        try:
            return [int(line) for line in self.procs.read_text().split()]
        except OSError:
            return []

    def remove(self) -> None:
        """Kill what is left in it (only processes this run started), then remove it."""
        empty_and_remove(self.path)
        if self.path.exists():
            print(f"bench.memory: could not remove {self.path}", file=sys.stderr)


def _mounts() -> dict[str, tuple[str, str]]:
    """``{"v1": (mount point, root), "v2": (...)}`` of the memory cgroup hierarchies this process sees."""
    found = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        fstype, options = tail[0], tail[2].split(",")
        if fstype == "cgroup" and "memory" in options:
            found.setdefault("v1", (fields[4], fields[3]))
        elif fstype == "cgroup2":
            found.setdefault("v2", (fields[4], fields[3]))
    return found


def _own_cgroup(version: str) -> str | None:
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if (version == "v1" and "memory" in controllers.split(",")) or (version == "v2" and controllers == ""):
            return path
    return None


def new_cgroup(name: str) -> tuple[Cgroup | None, str]:
    """A fresh memory cgroup for one run, or None and the reason there is none."""
    if not sys.platform.startswith("linux"):
        return None, "not Linux"
    mounts, reasons = _mounts(), []
    for version in ("v1", "v2"):
        own = _own_cgroup(version)
        if version not in mounts or own is None:
            reasons.append(f"no {version} memory hierarchy")
            continue
        mount, root = mounts[version]
        relative = own[len(root) :] if root != "/" and own.startswith(root) else own
        parent = Path(mount) / relative.lstrip("/")
        if version == "v2" and "memory" not in _read(parent / "cgroup.subtree_control").split():
            reasons.append(f"v2: the memory controller is not enabled for children of {parent}")
            continue
        path = parent / name
        try:
            path.mkdir()
        except OSError as error:
            reasons.append(f"{version}: cannot create {path} ({error.strerror})")
            continue
        cgroup = Cgroup(path, f"cgroup-{version}")
        try:
            cgroup.peak_bytes()
        except (OSError, ValueError):
            path.rmdir()
            reasons.append(f"{version}: no peak counter in {path}")
            continue
        return cgroup, ""
    return None, "; ".join(reasons)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


# The kernel's command: join the cgroup, then become ipykernel (same pid), so that all it starts is charged.
ENTER = "import os, sys; open(sys.argv[1], 'w').write(str(os.getpid())); os.execv(sys.argv[2], sys.argv[2:])"


def kernel_manager(kernels: Path, cgroup: Cgroup | None) -> KernelManager:
    """A kernel manager whose one kernel is this environment's ipykernel, started inside ``cgroup``."""
    command = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    if cgroup is not None:
        command = [sys.executable, "-c", ENTER, str(cgroup.procs), *command]
    spec = kernels / "msl-memory"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(
        json.dumps({"argv": command, "display_name": "Python 3 (measured)", "language": "python"})
    )
    specs = KernelSpecManager(kernel_dirs=[str(kernels)], ensure_native_kernel=False)
    return KernelManager(kernel_name="msl-memory", kernel_spec_manager=specs)


# --- one lab ----------------------------------------------------------------------------------------------


@dataclass
class Measure:
    lab: str
    seconds: float
    rss_sampled_mib: float
    cgroup: str | None = None  # "cgroup-v1" or "cgroup-v2", where the kernel ran in a cgroup of its own
    cgroup_mib: float | None = None  # that cgroup's own peak
    note: str = ""  # why there was no cgroup

    @property
    def peak_mib(self) -> float:
        """The cgroup's peak, or the sampled RSS where that is higher (see the module's docstring)."""
        return max(self.cgroup_mib or 0.0, self.rss_sampled_mib)

    @property
    def method(self) -> str:
        """Which measure gave :attr:`peak_mib`."""
        if self.cgroup_mib is not None and self.cgroup_mib >= self.rss_sampled_mib:
            return self.cgroup or "cgroup"
        return "rss-sampled"


def measure(lab: str, scratch: Path, use_cgroup: bool = True) -> Measure:
    """Run ``lab``'s solution notebook to its end in a fresh kernel and measure its peak memory."""
    work = scratch / lab
    shutil.copytree(SOLUTIONS / lab, work, ignore=shutil.ignore_patterns(*RUNTIME_FILES))
    notebook = nbformat.read(work / f"{lab}.ipynb", as_version=4)
    cgroup, reason = new_cgroup(f"msl-memory-{os.getpid()}-{lab}") if use_cgroup else (None, "--no-cgroup")
    km = kernel_manager(scratch / f"kernels-{lab}", cgroup)
    client = NotebookClient(
        notebook,
        km=km,
        timeout=CELL_TIMEOUT_S,
        allow_errors=False,
        resources={"metadata": {"path": str(work)}},
    )
    started = time.perf_counter()
    try:
        with client.setup_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):  # its log, not ours
            with RssSampler(km.provisioner.process.pid) as sampler:
                client.wait_for_reply(client.kc.kernel_info())
                for index, cell in enumerate(notebook.cells):
                    client.execute_cell(cell, index)
        seconds = time.perf_counter() - started
        sampled = sampler.peak / MIB
        if cgroup is None:
            return Measure(lab, seconds, sampled, note=reason)
        return Measure(lab, seconds, sampled, cgroup.method, cgroup.peak_bytes() / MIB)
    finally:
        if cgroup is not None:
            cgroup.remove()


# --- output -----------------------------------------------------------------------------------------------


def table(measures: list[Measure]) -> str:
    lines = [f"{'lab':<18} {'peak MiB':>9} {'method':<12} {'seconds':>8} {'cgroup MiB':>11} {'RSS MiB':>8}"]
    for m in measures:
        cgroup = "-" if m.cgroup_mib is None else f"{m.cgroup_mib:.0f}"
        lines.append(
            f"{m.lab:<18} {m.peak_mib:>9.0f} {m.method:<12} {m.seconds:>8.1f} {cgroup:>11} {m.rss_sampled_mib:>8.0f}"
        )
    return "\n".join(lines)


def to_toml(measures: list[Measure], date: str, cores: int) -> str:
    methods = "+".join(sorted({m.method for m in measures}))
    lines = [
        "# Peak memory of a student's kernel per lab, in MiB, the kernel and every process it starts: written by",
        f"# `{COMMAND}` (run it again when a lab changes; never edited by hand). deploy/k8s/values.yaml's",
        "# singleuser.memory and singleuser.cpu are bench.memory.recommended_limits() of these peak_mib, and",
        "# tests/deploy/test_deploy_files.py checks that they agree.",
        "# peak_mib is the higher of the kernel's own cgroup peak (cgroup_peak_mib: memory.max_usage_in_bytes on",
        f"# cgroup v1, memory.peak on v2) and the process tree's summed RSS sampled every {INTERVAL_S * 1000:.0f} ms",
        "# (rss_sampled_mib); method names the one it is. A cgroup is charged for a file page only if it reads it",
        "# first, so where TensorFlow's libraries were already cached the RSS, which counts them, is the higher.",
        f'date = "{date}"',
        f"cores = {cores}  # the measuring machine's CPU cores",
        f'method = "{methods}"',
        "",
    ]
    for m in measures:
        lines += [f"[labs.{m.lab}]", f"peak_mib = {m.peak_mib:.1f}", f'method = "{m.method}"']
        if m.cgroup_mib is not None:
            lines.append(f"cgroup_peak_mib = {m.cgroup_mib:.1f}  # {m.cgroup}")
        lines += [f"rss_sampled_mib = {m.rss_sampled_mib:.1f}", f"seconds = {m.seconds:.1f}", ""]
    return "\n".join(lines)


@contextlib.contextmanager
def environment(scratch: Path):
    """The kernels' environment: the tutor's progress in ``scratch`` (not the student's), plots off-screen."""
    values = {"SOCRATIQ_HOME": str(scratch / "socratiq"), "MPLBACKEND": "agg"}
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def labs() -> list[str]:
    return sorted(p.parent.name for p in SOLUTIONS.glob("*/*.ipynb") if p.stem == p.parent.name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labs", nargs="+", choices=labs(), default=labs(), help="default: every lab")
    parser.add_argument(
        "--out", type=Path, help=f"where to write the peaks (default: {OUT.relative_to(ROOT)}, when every lab ran)"
    )
    parser.add_argument("--no-cgroup", action="store_true", help="sample RSS even where a cgroup could be made")
    args = parser.parse_args()

    measures, failed = [], []
    with tempfile.TemporaryDirectory(prefix="msl-memory-") as tmp, environment(Path(tmp)):
        for lab in tqdm(args.labs, desc="labs", unit="lab"):
            try:
                measures.append(measure(lab, Path(tmp), use_cgroup=not args.no_cgroup))
            except (CellExecutionError, RuntimeError, TimeoutError, OSError) as error:
                failed.append(lab)
                lines = str(error).strip().splitlines() or [type(error).__name__]
                tqdm.write(f"{lab} failed: {lines[-1]}")

    print(table(measures))
    notes = sorted({m.note for m in measures if m.note})
    for note in notes:
        print(f"no cgroup: {note}")
    if failed:
        print(f"failed: {', '.join(failed)}; nothing written", file=sys.stderr)
        return 1
    out = args.out or (OUT if args.labs == labs() else None)
    if out is None:
        print(f"not every lab was measured: {OUT.relative_to(ROOT)} left as it was (--out FILE writes these)")
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(to_toml(measures, datetime.date.today().isoformat(), os.cpu_count() or 1))
        print(f"wrote {out}")
    limits = recommended_limits({m.lab: m.peak_mib for m in measures})
    print(f"recommended per user: memory {limits['memory']}, cpu {limits['cpu']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

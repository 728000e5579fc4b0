"""Apply a graded kernel's limits and environment to this process, then become the kernel (or its sandbox).

``python -m grader.confine SETTINGS_JSON -- COMMAND...`` is the first thing a
graded kernel's process runs: limits set here are inherited by ``bwrap`` and
everything the kernel starts. It exists as a separate step because joining a
cgroup and setting rlimits must happen outside the sandbox, after the kernel
manager has chosen the command.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from pathlib import Path


def apply_limits(settings: dict) -> None:
    """Set this process's rlimits and move it into its pids cgroup (if one was made)."""
    limits = {
        resource.RLIMIT_AS: settings["memory_bytes"],
        resource.RLIMIT_CPU: settings["cpu_seconds"],
        resource.RLIMIT_FSIZE: settings["file_bytes"],
        resource.RLIMIT_CORE: 0,
    }
    if os.geteuid() != 0:  # root ignores RLIMIT_NPROC; the cgroup caps root's kernels
        limits[resource.RLIMIT_NPROC] = settings["processes"]
    for kind, value in limits.items():
        resource.setrlimit(kind, (value, value))
    if settings.get("cgroup"):
        group = Path(settings["cgroup"])
        (group / "pids.max").write_text(str(settings["processes"]))
        (group / "cgroup.procs").write_text(str(os.getpid()))


def main(argv: list[str]) -> None:
    settings_json, separator, *command = argv
    if separator != "--" or not command:
        raise SystemExit("usage: python -m grader.confine SETTINGS_JSON -- COMMAND...")
    settings = json.loads(settings_json)
    apply_limits(settings)
    os.execve(command[0], command, settings["environment"])  # the grader's own environment stays behind


if __name__ == "__main__":
    main(sys.argv[1:])

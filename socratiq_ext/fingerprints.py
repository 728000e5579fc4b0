"""What the tutor knows of each exercise's solution: fingerprints, never the text.

At release (``python -m grader release``) every solution is cut into tokens, the tokens are
made blind to naming (a local name reads ``V``, so renaming changes nothing), and each run of
``K`` tokens is hashed with the lab's salt, the way plagiarism detectors (MOSS) fingerprint
code. Every run is kept: winnowing (keeping the smallest hash of each window) saves space in a
large corpus, but here it would let the tokens between kept runs through, one per reply, once an
exercise's budget is spent. Every short line is also hashed whole, so a line such as
``return None`` shown alone is recognised too. The tutor ships these hashes, with the
line each token came from, in ``course/fingerprints/<lab>.json``: no solution text.

While a reply streams, :class:`Matcher` hashes what the student is about to see and counts,
per exercise, the solution lines it would reveal. The count is kept across the whole session
in a :class:`CodeLedger`, so pieces given over several asks add up, and a reply that would take
an exercise past its budget (``BUDGET`` of its lines) is not shown.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import keyword
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources

K = 5  # tokens per hashed run: long enough to be specific, short enough to survive a changed line
SHORT = 2 * K  # lines of at most this many tokens are also hashed whole: runs alone miss a short line shown alone
BUDGET = 0.4  # the share of an exercise's solution lines a session may reveal (a leak is 60 %)
FORMAT = 1

_TOKEN = re.compile(
    r"""(?P<string>(?<![^\W\d])[rRbBuUfF]{0,2}("[^"\n]*"|'[^'\n]*'))"""  # an apostrophe (you'd) opens none
    r"""|(?P<number>\d+\.\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|\d+(?:[eE][-+]?\d+)?)"""
    r"""|(?P<name>[^\W\d]\w*)"""
    r"""|(?P<op>\*\*=?|//=?|==|!=|<=|>=|->|:=|[-+*/%&|^<>@]=?|[()\[\]{}:,.;=~])"""
)
_KEPT = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))
# Module names a solution refers to by their usual alias: renaming them is not a disguise anyone uses.
_MODULES = frozenset(
    {
        "np",
        "tf",
        "pd",
        "plt",
        "math",
        "scipy",
        "sklearn",
        "keras",
        "layers",
        "datasets",
        "hardware",
        "measure",
        "serving",
        "drift",
        "tflite",
        "os",
        "time",
        "json",
        "collections",
    }
)


def tokens(code: str) -> list[str]:
    """Python-ish tokens of any text, with every name that a student could rename read as ``V``.

    Kept as written: keywords, builtins, module aliases, ALL_CAPS constants, attributes (after a
    dot), names that are called, and keyword-argument names: the parts a disguise cannot change
    without changing the code. Strings keep their content (quote style aside), and a run of
    names reads as one ``V``, so prose words between code do not split a match apart.
    """
    out: list[str] = []
    depth = 0
    found = list(_TOKEN.finditer(code))
    for i, match in enumerate(found):
        kind, text = match.lastgroup, match.group()
        if kind == "string":
            out.append("S:" + " ".join(text.lstrip("rRbBuUfF")[1:-1].split()))
        elif kind == "number":
            out.append(_number(text))
        elif kind == "op":
            depth += (text in "([{") - (text in ")]}")
            depth = max(depth, 0)
            out.append(text)
        else:
            following = found[i + 1].group() if i + 1 < len(found) else ""
            kept = (
                text in _KEPT
                or text in _MODULES
                or (text.isupper() and len(text) > 1)
                or (out and out[-1] == ".")
                or following == "("
                or (depth and following == "=")
            )
            token = text if kept else "V"
            if not (token == "V" and out and out[-1] == "V"):
                out.append(token)
    return out


def _number(text: str) -> str:
    try:
        value = float(text)
    except ValueError:
        return text
    return str(int(value)) if value.is_integer() and math.isfinite(value) and "e" not in text.lower() else repr(value)


def telling(line_tokens: list[str]) -> bool:
    """Whether a short line is worth hashing whole: code a reader would not write in prose. Words alone
    (``return None``, ``return V``) are what prose says too; the budget counts such lines as seen."""
    return 2 <= len(line_tokens) <= SHORT and (len(line_tokens) >= 4 or any(not t.isidentifier() for t in line_tokens))


def salted(salt: bytes, run: Iterable[str]) -> str:
    """The hash of a run of tokens, as 16 hex digits."""
    return hashlib.blake2b("\x1f".join(run).encode(), key=salt, digest_size=8).hexdigest()


def line_hash(salt: bytes, line_tokens: list[str]) -> str:
    """The hash of a whole line's tokens (marked apart from runs)."""
    return salted(salt, ["<line>", *line_tokens])


def solution_lines(code: str) -> list[str]:
    """The lines of a solution that count: neither blank nor only a comment."""
    return [line for line in code.splitlines() if line.strip() and not line.strip().startswith("#")]


def fingerprint(code: str, salt: bytes) -> dict:
    """One exercise's fingerprints: the hash of every run with where it starts, and whole-line hashes of
    its short lines."""
    lines = solution_lines(code)
    stream: list[str] = []
    token_lines: list[int] = []
    line_hashes: dict[str, list[int]] = {}
    for number, line in enumerate(lines):
        line_tokens = tokens(line)
        stream += line_tokens
        token_lines += [number] * len(line_tokens)
        if telling(line_tokens):
            line_hashes.setdefault(line_hash(salt, line_tokens), []).append(number)
    runs: dict[str, list[int]] = {}
    for start in range(len(stream) - K + 1):
        runs.setdefault(salted(salt, stream[start : start + K]), []).append(start)
    return {
        "lines": len(lines),
        "unseen": len(lines) - len(_found_alone(token_lines, runs, line_hashes)),
        "token_lines": token_lines,
        "runs": runs,
        "whole_lines": line_hashes,
    }


def _found_alone(token_lines: list[int], runs: dict[str, list[int]], whole_lines: dict[str, list[int]]) -> set[int]:
    """The lines some hash recognises when the line is shown alone: hashed whole, or half covered by
    kept runs that lie inside it. The budget assumes the others were shown: no hash can tell."""
    prints = ExerciseFingerprints(len(set(token_lines)), tuple(token_lines), {}, {})
    inside = [
        p
        for found in runs.values()
        for p in found
        if p + K <= len(token_lines) and token_lines[p] == token_lines[p + K - 1]
    ]
    return prints.revealed(prints.covered(inside), {n for found in whole_lines.values() for n in found})


@dataclass(frozen=True)
class ExerciseFingerprints:
    """One exercise's solution as the tutor knows it: how many lines, and hashes that point into them."""

    lines: int
    token_lines: tuple[int, ...]
    runs: dict[str, tuple[int, ...]] = field(repr=False)
    whole_lines: dict[str, tuple[int, ...]] = field(repr=False)
    unseen: int = 0  # lines no hash recognises when shown alone (one token, or too short for a run)

    @property
    def budget(self) -> int:
        """Lines a session may reveal: ``BUDGET`` of them (one at least when there are two), less the
        lines the hashes cannot see, so that a session stays well under the 60 % that makes a leak."""
        return max(max(math.floor(BUDGET * self.lines), 1 if self.lines >= 2 else 0) - self.unseen, 0)

    @cached_property
    def line_sizes(self) -> Counter[int]:
        """How many tokens each line has."""
        return Counter(self.token_lines)

    def whole_line_lengths(self) -> set[int]:
        return {self.line_sizes[n] for found in self.whole_lines.values() for n in found}

    def covered(self, run_positions: Iterable[int]) -> set[int]:
        """The token positions that matched runs cover."""
        return {p for start in run_positions for p in range(start, min(start + K, len(self.token_lines)))}

    def revealed(self, covered: set[int], whole_lines: set[int]) -> set[int]:
        """The lines shown: half of a line's tokens covered, or the whole line matched."""
        counts = Counter(self.token_lines[position] for position in covered)
        return {line for line, count in counts.items() if 2 * count >= self.line_sizes[line]} | whole_lines


@dataclass(frozen=True)
class LabFingerprints:
    """All exercises of a lab, with the salt their hashes were made with."""

    lab: str
    salt: bytes
    exercises: dict[str, ExerciseFingerprints]

    @cached_property
    def line_lengths(self) -> set[int]:
        """The token counts of the solution lines hashed whole, in any exercise."""
        return {size for e in self.exercises.values() for size in e.whole_line_lengths()}

    @classmethod
    def from_json(cls, data: dict) -> LabFingerprints:
        if data.get("format") != FORMAT or data.get("k") != K:
            raise ValueError(
                f"fingerprints of format {data.get('format')}, k={data.get('k')}: expected {FORMAT}, k={K}"
            )
        return cls(
            data["lab"],
            bytes.fromhex(data["salt"]),
            {
                grade_id: ExerciseFingerprints(
                    e["lines"],
                    tuple(e["token_lines"]),
                    {h: tuple(p) for h, p in e["runs"].items()},
                    {h: tuple(n) for h, n in e["whole_lines"].items()},
                    e["unseen"],
                )
                for grade_id, e in data["exercises"].items()
            },
        )


def lab_json(lab: str, salt: bytes, exercises: dict[str, dict]) -> str:
    """The file ``course/fingerprints/<lab>.json``, written the same way every time."""
    data = {"format": FORMAT, "k": K, "lab": lab, "salt": salt.hex(), "exercises": exercises}
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


@cache
def load_fingerprints(lab: str) -> LabFingerprints | None:
    """The lab's shipped fingerprints; None when the course has none for it (the structural rules still hold)."""
    path = resources.files("course") / "fingerprints" / f"{lab}.json"
    try:
        return LabFingerprints.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None


class CodeLedger:
    """What this session has shown of each exercise's solution, across replies: the token positions
    matched runs covered, and the lines matched whole. Pieces add up, however they were spread.

    ``on_reveal(grade_id, kind, numbers)`` is told of everything new (kind "token" or "line"), so the
    progress store can keep the ledger across kernel restarts.
    """

    def __init__(
        self,
        shown: dict[tuple[str, str], set[int]] | None = None,
        on_reveal: Callable[[str, str, set[int]], None] | None = None,
    ):
        self._shown = {key: set(numbers) for key, numbers in (shown or {}).items()}
        self._on_reveal = on_reveal
        # What the student read last, so that runs span lines and replies: the end of the text, read again
        # with what follows it (a name on one line may be called on the next), and the end of the inline
        # code pieces, joined as they come (a token cut in two across replies is read whole).
        self.text_tail = ""
        self.code_tail = ""

    def shown(self, grade_id: str, kind: str) -> set[int]:
        return self._shown.get((grade_id, kind), set())

    def add(self, grade_id: str, kind: str, numbers: set[int]) -> None:
        new = numbers - self.shown(grade_id, kind)
        if new:
            self._shown.setdefault((grade_id, kind), set()).update(new)
            if self._on_reveal is not None:
                self._on_reveal(grade_id, kind, new)


class Matcher:
    """The fingerprints' view of a session: what each piece about to be shown would reveal."""

    TAIL = 240  # characters of text, and of code pieces, kept to read with the next ones

    def __init__(self, fingerprints: LabFingerprints, ledger: CodeLedger):
        self._prints = fingerprints
        self._ledger = ledger
        self._lengths = sorted(fingerprints.line_lengths)

    def judge(self, lines: list[str], code: Iterable[str] = ()) -> bool:
        """Whether ``lines`` (each already read as a student reads it) and the ``code`` pieces among them
        (inline spans) may be shown; if so, what they reveal goes into the ledger."""
        ledger, salt = self._ledger, self._prints.salt
        text = " ".join([ledger.text_tail, *lines])  # a string may be spread over lines, one token a line
        code_text = ledger.code_tail + "".join(code)
        runs: set[str] = set()
        wholes: set[str] = set()
        for tail, new in ((ledger.text_tail, text), (ledger.code_tail, code_text)):
            stream, old = tokens(new), max(len(tokens(tail)) - SHORT, 0)  # only windows that reach new tokens
            runs |= {salted(salt, stream[i : i + K]) for i in range(old, len(stream) - K + 1)}
            wholes |= {
                line_hash(salt, stream[i : i + size])
                for size in self._lengths
                for i in range(old, len(stream) - size + 1)
                if telling(stream[i : i + size])
            }
        matched = {}
        for grade_id, prints in self._prints.exercises.items():
            covered = prints.covered(p for h in runs & prints.runs.keys() for p in prints.runs[h])
            lines = {n for h in wholes & prints.whole_lines.keys() for n in prints.whole_lines[h]}
            if covered or lines:
                covered |= ledger.shown(grade_id, "token")
                lines |= ledger.shown(grade_id, "line")
                if len(prints.revealed(covered, lines)) > prints.budget:
                    return False  # the caller withholds it, and says so (withheld)
                matched[grade_id] = covered, lines
        for grade_id, (covered, lines) in matched.items():
            ledger.add(grade_id, "token", covered)
            ledger.add(grade_id, "line", lines)
        ledger.text_tail, ledger.code_tail = text[-self.TAIL :], code_text[-self.TAIL :]
        return True

    def withheld(self) -> None:
        """Something was not shown: the next code piece does not continue the last one's text (the token
        runs do go on: a student reads on around the gap)."""
        self._ledger.code_tail += "\n"

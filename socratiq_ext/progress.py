"""A student's progress, kept in one SQLite file per user.

Several kernels (one per open lab) write to the same file at once, so the
database runs in WAL mode with a generous busy timeout and every write is its
own short transaction: nothing is lost when two of them land together. A file
that cannot be read is never deleted; the tutor says so in one line and keeps
this session's progress in memory.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from socratiq_ext.content import LabContent, Question

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SCHEMA = """
CREATE TABLE IF NOT EXISTS hints (
    ts REAL NOT NULL, lab TEXT NOT NULL, grade_id TEXT NOT NULL, level INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS quiz (
    ts REAL NOT NULL, lab TEXT NOT NULL, question_id TEXT NOT NULL, topic TEXT NOT NULL,
    objective TEXT NOT NULL, correct INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS shown_code (
    lab TEXT NOT NULL, grade_id TEXT NOT NULL, kind TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (lab, grade_id, kind, n));
CREATE INDEX IF NOT EXISTS hints_by_exercise ON hints (lab, grade_id, ts);
CREATE INDEX IF NOT EXISTS quiz_by_lab ON quiz (lab, ts);
"""


@dataclass(frozen=True)
class QuizAttempt:
    """One recorded answer."""

    ts: float
    question_id: str
    topic: str
    objective: str
    correct: bool


@dataclass
class ProgressReport:
    """What the Progress view shows, as plain data; :meth:`figure` draws it."""

    lab: str
    attempts: list[QuizAttempt]
    hints: dict[str, int]  # grade_id -> hints used
    mastery: dict[str, float]  # objective id -> share of its questions last answered right
    objectives: dict[str, str] = field(repr=False, default_factory=dict)
    exercise_titles: dict[str, str] = field(repr=False, default_factory=dict)
    notice: str | None = None

    def by_topic(self) -> dict[str, tuple[int, int]]:
        """Topic -> (right, attempted)."""
        right, tried = Counter(), Counter()
        for a in self.attempts:
            tried[a.topic] += 1
            right[a.topic] += a.correct
        return {topic: (right[topic], tried[topic]) for topic in tried}

    def text(self) -> str:
        """A short Markdown summary, for scripts and for the panel next to the plot."""
        lines = [f"**{_count(len(self.attempts), 'quiz answer')}**, {_count(sum(self.hints.values()), 'hint')} used."]
        lines += [f"- {topic}: {r}/{n} right" for topic, (r, n) in sorted(self.by_topic().items())]
        lines += [f"- mastery of `{o}`, *{self.objectives.get(o, o)}*: {m:.0%}" for o, m in self.mastery.items()]
        return "\n".join(lines)

    def figure(self) -> Figure:
        """Quiz results by topic over time, hints per exercise and mastery per objective."""
        import matplotlib.pyplot as plt  # only when a plot is asked for

        fig, (over_time, hints, mastery) = plt.subplots(1, 3, figsize=(10.5, 3.4), layout="constrained")
        series = defaultdict(list)  # topic -> (answer number in the lab, share right so far)
        right = Counter()
        for number, a in enumerate(self.attempts, start=1):
            right[a.topic] += a.correct
            series[a.topic].append((number, right[a.topic] / (len(series[a.topic]) + 1)))
        for topic, points in sorted(series.items()):
            over_time.plot(*zip(*points), marker="o", label=topic)
        over_time.set(title="Quiz: share right, by topic", xlabel="answers, oldest first", ylim=(-0.05, 1.1))
        over_time.xaxis.get_major_locator().set_params(integer=True)
        if series:
            over_time.legend(fontsize=7, loc="best")
        names = list(self.exercise_titles) or list(self.hints)
        hints.barh(
            [self.exercise_titles.get(g, g) for g in names], [self.hints.get(g, 0) for g in names], color="tab:orange"
        )
        hints.set(title="Hints used per exercise")
        hints.xaxis.get_major_locator().set_params(integer=True)
        hints.invert_yaxis()
        # Objective ids are short names; the summary beside the plot spells each one out.
        mastery.barh(list(self.mastery), list(self.mastery.values()), color="tab:green")
        mastery.set(title="Mastery per objective", xlim=(0, 1))
        mastery.invert_yaxis()
        for ax in (hints, mastery):
            ax.tick_params(axis="y", labelsize=8)
        return fig


class ProgressStore:
    """Hints and quiz answers of one user, for every lab."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.notice: str | None = None
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._open(str(self.path))
        except (OSError, sqlite3.DatabaseError) as error:
            self.notice = (
                f"progress database {self.path} cannot be used ({error}): move it aside;"
                " this session's progress is kept in memory only"
            )
            self._db = self._open(":memory:")

    @staticmethod
    def _open(where: str) -> sqlite3.Connection:
        db = sqlite3.connect(where, timeout=30, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA busy_timeout = 30000")
        if where != ":memory:":
            db.execute("PRAGMA journal_mode = WAL")
        db.executescript(SCHEMA)
        return db

    def record_hint(self, lab: str, grade_id: str, level: int) -> None:
        """Note that a hint of this level was shown for an exercise."""
        self._write("INSERT INTO hints VALUES (?, ?, ?, ?)", (time.time(), lab, grade_id, level))

    def hint_level(self, lab: str, grade_id: str) -> int:
        """The highest hint level shown for an exercise (0 when none): where its ladder continues
        in a new kernel."""
        return self._read("SELECT COALESCE(MAX(level), 0) FROM hints WHERE lab = ? AND grade_id = ?", (lab, grade_id))[
            0
        ][0]

    def record_code_shown(self, lab: str, grade_id: str, kind: str, numbers: set[int]) -> None:
        """Note which parts of an exercise's solution (token positions or lines, by ``kind``) a reply
        showed: the tutor's code budget holds across kernel restarts, not just one session."""
        with self._lock:
            self._db.executemany(
                "INSERT OR IGNORE INTO shown_code VALUES (?, ?, ?, ?)",
                [(lab, grade_id, kind, n) for n in sorted(numbers)],
            )

    def code_shown(self, lab: str) -> dict[tuple[str, str], set[int]]:
        """Everything recorded by :meth:`record_code_shown` for a lab, by (grade_id, kind)."""
        shown: dict[tuple[str, str], set[int]] = defaultdict(set)
        for grade_id, kind, n in self._read("SELECT grade_id, kind, n FROM shown_code WHERE lab = ?", (lab,)):
            shown[grade_id, kind].add(n)
        return dict(shown)

    def record_quiz(self, lab: str, question: Question, correct: bool) -> None:
        """Note an answer to a quiz question and whether it was right."""
        row = (time.time(), lab, question.id, question.topic, question.objective, int(correct))
        self._write("INSERT INTO quiz VALUES (?, ?, ?, ?, ?, ?)", row)

    def hints_since(self, lab: str, grade_id: str, since: float) -> int:
        """Hints shown for an exercise since a time (seconds since the epoch)."""
        return self._read(
            "SELECT COUNT(*) FROM hints WHERE lab = ? AND grade_id = ? AND ts >= ?", (lab, grade_id, since)
        )[0][0]

    def attempts(self, lab: str) -> list[QuizAttempt]:
        """The lab's quiz answers, oldest first."""
        rows = self._read(
            "SELECT ts, question_id, topic, objective, correct FROM quiz WHERE lab = ? ORDER BY ts", (lab,)
        )
        return [QuizAttempt(ts, q, t, o, bool(c)) for ts, q, t, o, c in rows]

    def report(self, content: LabContent) -> ProgressReport:
        """Progress in one lab, measured against the lab's own exercises and objectives."""
        attempts = self.attempts(content.lab)
        rows = self._read("SELECT grade_id, COUNT(*) FROM hints WHERE lab = ? GROUP BY grade_id", (content.lab,))
        latest = {a.question_id: a for a in attempts}  # attempts are in time order: the last one wins
        bank = Counter(q.objective for q in content.questions)
        answered = Counter(a.objective for a in latest.values())
        mastery = {
            objective: sum(a.correct for a in latest.values() if a.objective == objective)
            / max(bank[objective], answered[objective], 1)
            for objective in content.objectives
        }
        return ProgressReport(
            lab=content.lab,
            attempts=attempts,
            hints=dict(rows),
            mastery=mastery,
            objectives=content.objectives,
            exercise_titles={g: e.title for g, e in content.exercises.items()},
            notice=self.notice,
        )

    def _write(self, sql: str, row: tuple) -> None:
        with self._lock:  # autocommit: each write is one short transaction
            self._db.execute(sql, row)

    def _read(self, sql: str, args: tuple) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")

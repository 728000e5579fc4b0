"""The tutor: every action the panel offers, as plain Python.

``Tutor`` holds no widgets. Each action returns a plain object with the text a
student would see, so scripts, tests and the panel share one code path. Actions
that may call the LLM take ``on_text`` (called with the text shown so far, as it
streams) and ``stop`` (an event that ends the stream early).
"""

from __future__ import annotations

import hashlib
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING

from socratiq_ext import offline, prompts
from socratiq_ext.answer_requests import asks_for_answer
from socratiq_ext.config import TutorConfig, load_config
from socratiq_ext.content import LEVELS, ContentError, LabContent, Question, known_labs, load_lab, parse_question
from socratiq_ext.context import CellRun, ErrorInfo, ExerciseLocator, detect_lab, kernel_history, notebook_path
from socratiq_ext.fingerprints import CodeLedger, load_fingerprints
from socratiq_ext.guardrails import ReplyGuard
from socratiq_ext.llm import ChatBackend, LLMCutOff, LLMUnavailable
from socratiq_ext.progress import ProgressReport, ProgressStore
from socratiq_ext.retrieval import PassageIndex

if TYPE_CHECKING:
    import ipywidgets

OnText = Callable[[str], None]
HOUR_S = 3600.0
# Ends a reply that stopped unfinished, so that half an answer is never read as a whole one.
CUT_OFF_MARK = "\n\n*[… the reply was cut off here]*"
REFUSAL = "I won't write the solution for you: working it out is what the lab teaches. Here is a hint instead."


@dataclass(frozen=True)
class Reply:
    """What one action showed: the Markdown text and where it came from."""

    action: str  # "hint", "explain" or "ask"
    text: str
    grade_id: str | None = None
    level: int | None = None  # hint rung, 1-based
    offline: bool = True  # True when the text came from the course material alone
    notice: str | None = None  # one line: why the LLM was not used, or a limit reached
    stopped: bool = False
    cut_off: bool = False  # the LLM's reply ended unfinished: the text is partial and marked so


@dataclass(frozen=True)
class QuizResult:
    """A graded quiz answer and the feedback shown for it."""

    question: Question
    correct: bool
    text: str


class Tutor:
    """SocratiQ for one lab: hints, error explanations, answers, quizzes and progress."""

    def __init__(
        self,
        lab: str | None = None,
        *,
        config: TutorConfig | None = None,
        history: list[CellRun] | None = None,
        store: ProgressStore | None = None,
    ):
        lab = lab or detect_lab(known_labs())
        if lab is None:
            raise ContentError(f"SocratiQ cannot tell which lab this is: name it, e.g. %socratiq {known_labs()[0]}")
        self.lab = lab
        self.content: LabContent = load_lab(lab)
        self.config = config or load_config()
        self.history = history if history is not None else kernel_history()
        self.locator = ExerciseLocator(self.content, notebook_path(lab))
        self.backend = ChatBackend(self.config.llm) if self.config.llm else None
        self._store = store
        self._levels: dict[str, int] = {}
        self._lock = threading.Lock()

    # -- state ---------------------------------------------------------------------------
    @property
    def store(self) -> ProgressStore:
        """Opened on first use: showing the panel must not touch the disk."""
        with self._lock:
            if self._store is None:
                self._store = ProgressStore(self.config.progress_path)
            return self._store

    @cached_property
    def ledger(self) -> CodeLedger:
        """The solution code this student has been shown, per exercise, kept in the progress store: the
        budget holds across replies and kernel restarts."""
        return CodeLedger(
            self.store.code_shown(self.lab),
            on_reveal=lambda grade_id, kind, numbers: self.store.record_code_shown(self.lab, grade_id, kind, numbers),
        )

    @cached_property
    def index(self) -> PassageIndex:
        return PassageIndex(self.content.sections)

    @property
    def status(self) -> str:
        """One line on what the tutor is connected to: offline after the server failed to answer,
        until it answers again."""
        if self.backend is None:
            return offline.OFFLINE
        down = self.backend.down_reason
        if down is not None:
            return (
                f"SocratiQ is offline ({down}): answers come from the course's own material"
                " until the LLM answers again."
            )
        return f"SocratiQ is online: {self.backend.config.describe()}."

    def current_exercise(self) -> str | None:
        """The exercise of the last cell run (or failed) that belongs to one."""
        return self.locator.current(self._runs())

    def last_error(self) -> ErrorInfo | None:
        """The error of the last failed cell, else the interpreter's last exception."""
        for run in reversed(self._runs()):
            if run.error is not None:
                return run.error
        error = getattr(sys, "last_value", None)  # set by IPython and the interactive interpreter
        return ErrorInfo.from_exception(error) if error is not None else None

    # -- actions ---------------------------------------------------------------------------
    def hint(
        self, grade_id: str | None = None, *, on_text: OnText | None = None, stop: threading.Event | None = None
    ) -> Reply:
        """The next rung of the exercise's hint ladder (nudge, concept, pointer, pseudo-code)."""
        return self._hint(grade_id, climb=True, on_text=on_text, stop=stop)

    def _hint(
        self, grade_id: str | None, *, climb: bool, on_text: OnText | None, stop: threading.Event | None
    ) -> Reply:
        """A rung of the ladder: the next one (``climb``), else the one reached, again, without climbing
        or recording it (the hint that goes with a refusal)."""
        notice = None
        if grade_id is None:
            grade_id = self.current_exercise()
            if grade_id is None:
                grade_id = next(iter(self.content.exercises))
                notice = "Run an exercise's cell first, or pick the exercise: showing the first one."
        exercise = self.content.exercises.get(grade_id)
        if exercise is None:
            raise ContentError(
                f"{grade_id!r} is not an exercise of {self.lab}; exercises: {', '.join(self.content.exercises)}"
            )
        if self.config.hint_budget is not None:
            used = self.store.hints_since(self.lab, grade_id, time.time() - HOUR_S)
            if used >= self.config.hint_budget:
                text = (
                    f"You have used {used} hints on _{exercise.title}_ in the last hour, the budget your course set."
                    f" Re-read section “{exercise.section}” and run the self-check again;"
                    " the next hint unlocks within the hour."
                )
                _emit(on_text, text)
                return Reply("hint", text, grade_id, notice="hint budget reached for this exercise")
        # The rung reached survives a kernel restart: it is read from the progress store once per exercise
        # (outside the lock, which also guards opening the store).
        stored = None if grade_id in self._levels else self.store.hint_level(self.lab, grade_id)
        with self._lock:
            reached = self._levels.setdefault(grade_id, stored or 0)  # 1-based level last shown, 0 for none
            if climb:
                level = min(reached, len(LEVELS) - 1)
                self._levels[grade_id] = level + 1
            else:
                level = min(max(reached - 1, 0), len(LEVELS) - 1)
        if climb:
            self.store.record_hint(self.lab, grade_id, level + 1)
        authored = offline.hint_text(exercise, level)
        code = self._code_for(grade_id)
        error = self.last_error()
        if error is not None and self.locator.for_error(error) != grade_id:
            error = None  # another exercise's error would only mislead the hint
        reply = self._respond(
            "hint",
            authored + "\n\n",
            "",
            lambda: prompts.hint_messages(self.content, exercise, level, code, error),
            on_text,
            stop,
            avoid=exercise.avoid,
            grade_id=grade_id,
            level=level + 1,
        )
        return replace(reply, text=reply.text.rstrip(), notice=notice or reply.notice)

    def _named_exercise(self, text: str) -> str | None:
        """The exercise a message names first, by grade_id, function (or a function its answer cell defines)
        or title; None when it names none."""
        names = {g: g for g in self.content.exercises}
        names.update(self.locator.names)
        names.update({e.title: g for g, e in self.content.exercises.items()})
        found = []
        for name, grade_id in names.items():
            match = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text, re.IGNORECASE)
            if match:
                found.append((match.start(), -len(name), grade_id))
        return min(found)[2] if found else None

    def explain_error(
        self,
        error: BaseException | ErrorInfo | None = None,
        *,
        on_text: OnText | None = None,
        stop: threading.Event | None = None,
    ) -> Reply:
        """The last error (or the one given) in plain words, tied to its exercise."""
        if isinstance(error, BaseException):
            error = ErrorInfo.from_exception(error)
        error = error or self.last_error()
        if error is None:
            text = "No error to explain yet: when a cell fails, click **Explain error** (or call `explain_error()`)."
            _emit(on_text, text)
            return Reply("explain", text)
        grade_id = self.locator.for_error(error)
        exercise = self.content.exercises.get(grade_id) if grade_id else None
        plain = offline.explain_text(error, exercise, self.content)
        return self._respond(
            "explain",
            "",
            plain,
            lambda: prompts.explain_messages(self.content, error, exercise),
            on_text,
            stop,
            avoid=exercise.avoid if exercise else (),
            grade_id=grade_id,
        )

    def ask(self, question: str, *, on_text: OnText | None = None, stop: threading.Event | None = None) -> Reply:
        """An answer from the lab's reading and the course text, citing the section it came from."""
        if not question.strip():
            text = "Type a question first, for example: *why cache before augmenting?*"
            _emit(on_text, text)
            return Reply("ask", text)
        if asks_for_answer(question, [e.function for e in self.content.exercises.values()]):
            # The request never reaches the LLM. The hint is for the exercise it names (else the last one run),
            # at the rung the student has reached: asking for the answer does not climb the ladder.
            hint = self._hint(self._named_exercise(question), climb=False, on_text=None, stop=stop)
            text = f"{REFUSAL}\n\n{hint.text}"
            _emit(on_text, text)
            return replace(hint, action="ask", text=text, notice="asked for the solution: answered with a hint")
        passages = self.index.search(question)
        reply = self._respond(
            "ask",
            "",
            offline.ask_text(passages, self.content),
            lambda: prompts.ask_messages(self.content, question, passages, self._all_avoid),
            on_text,
            stop,
            avoid=self._all_avoid,
        )
        if reply.offline or not passages:
            return reply
        cited = f"{reply.text.rstrip()}\n\n*Course material: {passages[0].citation}.*"
        _emit(on_text, cited)
        return replace(reply, text=cited)

    def quiz(
        self, *, generate: bool = False, after: Question | None = None, stop: threading.Event | None = None
    ) -> Question:
        """The next question: new or last answered wrong first, never ``after`` again at once;
        with ``generate``, a new one written by the LLM."""
        attempts = self.store.attempts(self.lab)
        if generate:
            if self.backend is None:
                return replace(self._next_from_bank(attempts, after), notice=offline.OFFLINE)
            try:
                return self._generated([a.question_id for a in attempts], stop)
            except LLMUnavailable as error:
                return replace(
                    self._next_from_bank(attempts, after), notice=f"{error}: here is a question from the bank"
                )
        return self._next_from_bank(attempts, after)

    def check(self, question: Question, response: int | bool | str) -> QuizResult:
        """Grade an answer at once, record it, and explain."""
        correct = question.is_correct(response)
        self.store.record_quiz(self.lab, question, correct)
        return QuizResult(question, correct, offline.feedback_text(question, correct))

    def progress(self) -> ProgressReport:
        """Quiz results by topic, hints per exercise and mastery per objective, for this lab."""
        return self.store.report(self.content)

    def panel(self) -> ipywidgets.VBox:
        """The ipywidgets panel on this tutor."""
        from socratiq_ext.panel import TutorPanel  # widgets only when a panel is asked for

        return TutorPanel(self).widget

    # -- helpers ---------------------------------------------------------------------------
    @cached_property
    def _all_avoid(self) -> tuple[str, ...]:
        return tuple(w for e in self.content.exercises.values() for w in e.avoid)

    def _runs(self) -> list[CellRun]:
        return list(self.history)  # a snapshot: the kernel's recorder appends and trims as cells run

    def _respond(
        self,
        action: str,
        prefix: str,
        fallback: str,
        messages: Callable[[], list[dict]],
        on_text: OnText | None,
        stop: threading.Event | None,
        avoid: tuple[str, ...] = (),
        **fields,
    ) -> Reply:
        """Stream the LLM's reply after ``prefix`` through the guard; on any failure show ``prefix + fallback``."""
        if self.backend is None:
            text = prefix + fallback
            _emit(on_text, text)
            return Reply(action, text, notice=offline.OFFLINE, **fields)
        guard, shown = ReplyGuard(avoid, load_fingerprints(self.lab), self.ledger), prefix
        _emit(on_text, shown)
        try:
            for delta in self.backend.stream(messages(), stop):
                safe = guard.feed(delta)
                if safe:
                    shown += safe
                    _emit(on_text, shown)
            shown += guard.finish()
            if not shown[len(prefix) :].strip() and not (stop is not None and stop.is_set()):
                raise LLMUnavailable("the LLM sent an empty reply")
        except LLMCutOff as error:
            shown += guard.finish()
            if shown[len(prefix) :].strip():  # keep what came, marked: never passed off as a whole answer
                text = shown.rstrip() + CUT_OFF_MARK
                _emit(on_text, text)
                return Reply(action, text, offline=False, cut_off=True, notice=str(error), **fields)
            text = prefix + fallback
            _emit(on_text, text)
            return Reply(action, text, notice=f"Answered offline: {error.reason}.", **fields)
        except LLMUnavailable as error:
            text = prefix + fallback
            _emit(on_text, text)
            return Reply(action, text, notice=f"Answered offline: {error}.", **fields)
        _emit(on_text, shown)
        stopped = stop is not None and stop.is_set()
        return Reply(action, shown, offline=False, stopped=stopped, notice="stopped" if stopped else None, **fields)

    def _code_for(self, grade_id: str) -> str:
        """The student's latest code for an exercise, from the cells the kernel ran."""
        for run in reversed(self._runs()):
            if self.locator.for_code(run.source) == grade_id:
                return run.source
        return ""

    def _next_from_bank(self, attempts: list, after: Question | None) -> Question:
        last = {a.question_id: a.correct for a in attempts}
        tries = {q: sum(a.question_id == q for a in attempts) for q in last}
        order = sorted(self.content.questions, key=lambda q: (last.get(q.id, False), tries.get(q.id, 0)))
        return next((q for q in order if after is None or q.id != after.id), order[0])

    def _generated(self, seen: list[str], stop: threading.Event | None) -> Question:
        import jsonschema

        prompts_seen = [q.prompt for q in self.content.questions if q.id in set(seen)]
        entry = self.backend.complete_json(
            prompts.quiz_messages(self.content, prompts_seen), stop, schema=prompts.QUESTION_SCHEMA
        )
        try:
            jsonschema.validate(entry, prompts.QUESTION_SCHEMA)
            entry["id"] = "gen-" + hashlib.sha1(entry["prompt"].encode()).hexdigest()[:10]
            titles = {s.title for s in self.content.sections}
            question = parse_question(entry, titles, set(self.content.objectives), origin="generated")
        except (jsonschema.ValidationError, ContentError) as error:
            reason = error.message if isinstance(error, jsonschema.ValidationError) else str(error)
            raise LLMUnavailable(f"the LLM's question did not pass the checks ({reason[:120]})") from None
        answers = question.answer if question.kind == "short_answer" else ()
        text = "\n".join([question.prompt, question.explanation, *question.choices, *answers])
        # The question passes the guard that replies pass, against the same session budget.
        if ReplyGuard(self._all_avoid, load_fingerprints(self.lab), self.ledger).filter(text) != text:
            raise LLMUnavailable("the LLM's question gave an exercise away")
        return question


def _emit(on_text: OnText | None, text: str) -> None:
    if on_text is not None:
        on_text(text)

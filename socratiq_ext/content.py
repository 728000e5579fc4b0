"""The course's own teaching material, as the tutor uses it.

Everything the offline tutor says comes from files in ``course/``, written by the
instructors: one hint ladder file and one quiz bank per lab, the lab's reading and
a course-wide catalogue of errors in plain words. The files are checked as they
load, so a typo in a grade_id or a section name fails a test instead of showing a
student an empty hint.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

from course.reader import reading_text

LEVELS = ("nudge", "concept", "pointer", "pseudocode")
KINDS = ("multiple_choice", "true_false", "short_answer")


class ContentError(ValueError):
    """A course file that does not follow its format; the message names the file and the field."""


@dataclass(frozen=True)
class Section:
    """One ``##`` section of a reading: the unit that answers cite."""

    title: str
    text: str
    source: str  # e.g. "Lab 1 reading" or "Syllabus"


@dataclass(frozen=True)
class Exercise:
    """An autograded exercise and its hint ladder, from nudge to pseudo-code."""

    grade_id: str
    title: str
    objective: str
    section: str
    ladder: tuple[str, ...]
    avoid: tuple[str, ...] = ()

    @property
    def function(self) -> str:
        """The name the exercise asks for: grade_ids are ``<lab>-<part>-<name>``."""
        return self.grade_id.rsplit("-", 1)[-1]


@dataclass(frozen=True)
class Question:
    """A quiz question. ``answer`` is an index, a bool or the accepted short answers."""

    id: str
    kind: str
    prompt: str
    answer: int | bool | tuple[str, ...]
    explanation: str
    section: str
    topic: str
    objective: str
    choices: tuple[str, ...] = ()
    origin: str = "bank"  # or "generated" (by the LLM)
    notice: str | None = None  # one line shown with it, e.g. why a generated question fell back to the bank

    def is_correct(self, response: int | bool | str) -> bool:
        """Grade a response: a choice index, True/False, or free text for short answers."""
        if self.kind == "short_answer":
            return isinstance(response, str) and _normal(response) in {_normal(a) for a in self.answer}
        if self.kind == "true_false":
            return type(response) is bool and response is self.answer
        return type(response) is int and response == self.answer

    @property
    def answer_text(self) -> str:
        """The right answer as a student would read it."""
        if self.kind == "multiple_choice":
            return self.choices[self.answer]
        if self.kind == "true_false":
            return "True" if self.answer else "False"
        return self.answer[0]


@dataclass(frozen=True)
class LabContent:
    """All the tutor knows about one lab."""

    lab: str
    exercises: dict[str, Exercise]
    objectives: dict[str, str]
    questions: tuple[Question, ...]
    sections: tuple[Section, ...]
    errors: dict[str, dict[str, str]] = field(repr=False)

    def section(self, title: str) -> Section:
        """The section of the reading with this heading."""
        return next(s for s in self.sections if s.title == title)


def known_labs() -> list[str]:
    """Labs the tutor has material for: those with a hint ladder file."""
    return sorted(p.name.removesuffix(".toml") for p in _folder("hints").iterdir() if p.name.endswith(".toml"))


@cache
def load_lab(lab: str) -> LabContent:
    """Load and check a lab's hints, quiz bank and reading (cached: the files do not change in a session)."""
    if lab not in known_labs():
        raise ContentError(f"SocratiQ has no material for lab {lab!r}; labs with material: {', '.join(known_labs())}")
    sections = tuple(split_sections(reading_text(lab), f"{_lab_name(lab)} reading"))
    titles = {s.title for s in sections}
    quiz_file = _folder("quizzes") / f"{lab}.toml"
    quizzes = _read(quiz_file)
    objectives = dict(quizzes.get("objectives", {}))
    if not objectives:
        raise ContentError(f"{quiz_file.name}: an [objectives] table is required")

    def checked(where: str, entry: dict, key: str, allowed: set[str]) -> str:
        value = entry.get(key)
        if value not in allowed:
            raise ContentError(f"{where}: {key} = {value!r} is not one of {sorted(allowed)}")
        return value

    exercises = {}
    for grade_id, entry in _read(_folder("hints") / f"{lab}.toml").get("exercises", {}).items():
        where = f"hints/{lab}.toml [exercises.{grade_id!r}]"
        missing = [level for level in LEVELS if not entry.get(level)]
        if missing:
            raise ContentError(f"{where}: missing hint levels {missing}")
        exercises[grade_id] = Exercise(
            grade_id=grade_id,
            title=entry.get("title", grade_id),
            objective=checked(where, entry, "objective", set(objectives)),
            section=checked(where, entry, "section", titles),
            ladder=tuple(entry[level].strip() for level in LEVELS),
            avoid=tuple(entry.get("avoid", ())),
        )
    questions = tuple(
        parse_question(q, titles, set(objectives), where=f"quizzes/{lab}.toml") for q in quizzes.get("questions", ())
    )
    if len({q.id for q in questions}) != len(questions):
        raise ContentError(f"quizzes/{lab}.toml: question ids must be unique")
    return LabContent(lab, exercises, objectives, questions, sections + _syllabus(), error_catalog())


def parse_question(
    entry: dict, sections: set[str], objectives: set[str], origin: str = "bank", where: str = "question"
) -> Question:
    """Build a question from a bank entry or an LLM's JSON, raising ContentError if it is unusable."""
    where = f"{where} [{entry.get('id', '?')}]"
    kind = entry.get("kind")
    answer, choices = entry.get("answer"), tuple(entry.get("choices", ()))
    valid = {
        "multiple_choice": type(answer) is int and 2 <= len(choices) and 0 <= answer < len(choices),
        "true_false": type(answer) is bool and not choices,
        "short_answer": isinstance(answer, list) and answer and all(isinstance(a, str) and a.strip() for a in answer),
    }
    if not valid.get(kind, False):
        raise ContentError(
            f"{where}: kind {kind!r} with answer {answer!r} and {len(choices)} choices is not a valid question"
        )
    for key in ("id", "prompt", "explanation", "topic"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise ContentError(f"{where}: {key} must be a non-empty string")
    if entry.get("section") not in sections:
        raise ContentError(f"{where}: section {entry.get('section')!r} is not a heading of the reading")
    if entry.get("objective") not in objectives:
        raise ContentError(f"{where}: objective {entry.get('objective')!r} is not one of {sorted(objectives)}")
    return Question(
        id=entry["id"],
        kind=kind,
        prompt=entry["prompt"].strip(),
        answer=tuple(answer) if kind == "short_answer" else answer,
        explanation=entry["explanation"].strip(),
        section=entry["section"],
        topic=entry["topic"].strip().lower(),
        objective=entry["objective"],
        choices=choices,
        origin=origin,
    )


@cache
def error_catalog() -> dict[str, dict[str, str]]:
    """Plain-words explanations of exceptions, by class name, with an ``Exception`` fallback."""
    catalog = _read(resources.files("course") / "errors.toml").get("errors", {})
    if "Exception" not in catalog:
        raise ContentError("errors.toml: an [errors.Exception] fallback is required")
    return catalog


def split_sections(markdown: str, source: str) -> list[Section]:
    """Cut Markdown at its ``## `` headings; text before the first heading is not a section."""
    parts = re.split(r"^## +(.+?)\s*$", markdown, flags=re.MULTILINE)
    return [Section(title, body.strip(), source) for title, body in zip(parts[1::2], parts[2::2])]


def _syllabus() -> tuple[Section, ...]:
    return tuple(split_sections((resources.files("course") / "syllabus.md").read_text(encoding="utf-8"), "Syllabus"))


def _lab_name(lab: str) -> str:
    number = re.match(r"lab0*(\d+)", lab)
    return f"Lab {number.group(1)}" if number else lab


def _folder(name: str) -> Traversable:
    return resources.files("course") / name


def _read(path: Traversable) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ContentError(f"course/{path.name} is missing") from None
    except tomllib.TOMLDecodeError as error:
        raise ContentError(f"course/{path.name} is not valid TOML: {error}") from None


def _normal(text: str) -> str:
    return " ".join(text.lower().split())

"""What the tutor says from the course's own material, with no LLM.

These texts are complete answers on their own (the offline tutor is a tutor, not
an error page) and the starting point that an LLM, when there is one, tailors.
"""

from __future__ import annotations

from socratiq_ext.content import LEVELS, Exercise, LabContent, Question
from socratiq_ext.context import ErrorInfo
from socratiq_ext.retrieval import Passage

# Names the opt-in: a key alone never sends student code anywhere, only a server someone named does.
OFFLINE = (
    "SocratiQ is offline (no LLM server named): answers come from the course's own material;"
    " to use an LLM, set SOCRATIQ_BASE_URL to your server, e.g. https://api.openai.com/v1."
)


def hint_text(exercise: Exercise, level: int) -> str:
    """One rung of an exercise's authored ladder, with where to read more."""
    return (
        f"**Hint {level + 1}/{len(LEVELS)} ({LEVELS[level]}) for _{exercise.title}_ (`{exercise.function}`):**"
        f" {exercise.ladder[level]}\n\n*Reading: section “{exercise.section}”.*"
    )


def explain_text(error: ErrorInfo, exercise: Exercise | None, content: LabContent) -> str:
    """The error in plain words, what it usually means in a lab, and the exercise it belongs to."""
    return _explanation(error, exercise, content, quote=True)


def course_explanation(error: ErrorInfo, exercise: Exercise | None, content: LabContent) -> str:
    """:func:`explain_text` with nothing the student's code wrote: no message, and the error's type named
    only when the course's catalogue knows it (a student's own exception class is theirs too).
    This is what an LLM prompt may carry outside the fence around the student's text."""
    return _explanation(error, exercise, content, quote=False)


def _explanation(error: ErrorInfo, exercise: Exercise | None, content: LabContent, quote: bool) -> str:
    known = error.type_name in content.errors
    entry = content.errors[error.type_name] if known else content.errors["Exception"]
    name = error.type_name if quote or known else "Exception"
    parts = [f"**`{name}`** — {entry['plain'].strip()}"]
    if quote and error.message:
        if error.type_name == "AssertionError":
            parts.append(f"The self-check's message:\n\n> {error.message}")
        else:
            parts.append(f"Python's message: `{_clip(error.message)}`")
    if exercise is not None:
        parts.append(
            f"This happened in exercise **{exercise.title}** (`{exercise.function}`)."
            f" A first hint: {exercise.ladder[0]}"
        )
    parts.append(f"**Next:** {entry['advice'].strip()}")
    return "\n\n".join(parts)


def ask_text(passages: list[Passage], content: LabContent) -> str:
    """The passage that answers best, cited, or where to look when none does."""
    if not passages:
        titles = ", ".join(f"“{s.title}”" for s in content.sections if s.source != "Syllabus")
        return (
            "I could not find that in this lab's material. Try the words the lab uses,"
            f" or ask about one of the reading's sections: {titles}."
        )
    best, *others = passages
    text = f"{best.text}\n\n*From {best.citation}.*"
    more = [p for p in others if p.section != best.section]
    if more:
        text += f" *See also {more[0].citation}.*"
    return text


def feedback_text(question: Question, correct: bool) -> str:
    """Immediate feedback on a quiz answer: right or wrong, why, and where it is taught."""
    verdict = "✔ **Right.**" if correct else f"✘ **Not quite.** The answer is **{question.answer_text}**."
    return f"{verdict} {question.explanation}\n\n*Reading: section “{question.section}”.*"


def _clip(text: str, width: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"

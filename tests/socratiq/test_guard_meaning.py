"""The reply guard judges meaning, not formatting: each bypass an adversarial tester found, as a test.

Every disguise here got a whole exercise past the old guard (which judged Markdown code lines and
masked exact strings). Each test dresses a real solution, streams it through the guard with the lab's
shipped fingerprints, and measures what a student could rebuild from what was shown.
"""

from __future__ import annotations

import html
import json
import re
from functools import cache
from pathlib import Path

import nbformat
import pytest
from llm_server import Reply
from online import online_config

from grader.fingerprints import fingerprint_path, lab_fingerprints, solution_code
from grader.layout import Course
from grader.publish import answer_lines
from socratiq_ext import Tutor
from socratiq_ext.content import known_labs, load_lab
from socratiq_ext.context import ErrorInfo
from socratiq_ext.fingerprints import CodeLedger, load_fingerprints, solution_lines
from socratiq_ext.guardrails import ReplyGuard
from socratiq_ext.prompts import ask_messages, explain_messages, hint_messages

REPO = Path(__file__).resolve().parents[2]
LAB = "lab01_data"
CHECK_RECORD = "lab01-validate-check_record"
GROUPS = "lab01-split-near_duplicate_groups"


@cache
def solutions(lab: str) -> dict[str, str]:
    return solution_code(nbformat.read(REPO / "solutions" / lab / f"{lab}.ipynb", as_version=4))


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def recovered(grade_id: str, shown: str, lab: str = LAB) -> float:
    """The share of the solution's lines that appear in ``shown`` once its dress is undone."""
    lines = solution_lines(solutions(lab)[grade_id])
    shown = html.unescape(re.sub(r"</?(code|pre|br)>", "", shown)).replace("`", "").replace('> "', "")
    shown = shown.translate(str.maketrans("\u0430\u0435\u043e\u0440\u0441", "aeopc"))
    plain = squeezed(re.sub(r"(?m)^\s*(Line \d+:|#|\d+[.)])", "", shown))
    return sum(squeezed(line) in plain for line in lines) / len(lines)


def guarded(*replies: str, lab: str = LAB, size: int = 7) -> str:
    """What a student sees of several replies in one session, each streamed in pieces of ``size``."""
    ledger, shown = CodeLedger(), []
    for reply in replies:
        guard = ReplyGuard((), load_fingerprints(lab), ledger)
        shown.append("".join(guard.feed(reply[i : i + size]) for i in range(0, len(reply), size)) + guard.finish())
    return "\n".join(shown)


def dressed(grade_id: str, dress) -> str:
    return "\n".join(dress(n, line) for n, line in enumerate(solution_lines(solutions(LAB)[grade_id]), 1))


DRESSES = {
    "line numbers": lambda n, line: f"Line {n:02d}: {line}",
    "code in comments": lambda n, line: f"# {line}",
    "inline spans with assignments": lambda n, line: f"Then write `{line.strip()}` and read on.",
    "numbered list": lambda n, line: f"{n}. {line.strip()}",
    "table rows": lambda n, line: f"| {n} | `{line.strip()}` |",
    "html": lambda n, line: f"<code>{line.strip().replace('<', '&lt;')}</code><br>",
    "prose around each line": lambda n, line: f"The idea is that you write {line.strip()} so the case is covered.",
    "each line quoted": lambda n, line: f'> "{line.strip()}"',
    "letters spaced out": lambda n, line: " ".join(line.strip()),
    "one token a line": lambda n, line: "\n".join(re.findall(r"\w+|\S", line)),
    "look-alike letters": lambda n, line: line.translate(str.maketrans("aeopc", "\u0430\u0435\u043e\u0440\u0441")),
}


@pytest.mark.parametrize("dress", DRESSES)
def test_a_dressed_up_solution_shows_less_than_half_of_its_lines(dress):
    reply = dressed(CHECK_RECORD, DRESSES[dress])
    assert recovered(CHECK_RECORD, reply) == 1.0  # the dress hides nothing from a student
    assert recovered(CHECK_RECORD, guarded(reply)) < 0.6


def test_renamed_identifiers_change_nothing():
    code = solutions(LAB)[CHECK_RECORD]
    for old, new in {"pixels": "px", "record": "row", "key": "k"}.items():
        code = re.sub(rf"\b{old}\b", new, code)
    reply = "\n".join(f"Line {n}: {line}" for n, line in enumerate(solution_lines(code), 1))
    shown = guarded(reply)
    assert sum(squeezed(line) in squeezed(shown) for line in solution_lines(code)) < 0.6 * len(solution_lines(code))


def test_code_spelled_out_in_words_is_read_as_code():
    words = {"(": " open paren ", ")": " close paren ", ".": " dot ", ",": " comma ", "=": " equals ", "-": " minus "}
    lines = solution_lines(solutions(LAB)[GROUPS])
    spoken = [
        "Step {}: {}.".format(n, "".join(words.get(c, c) for c in line.strip())) for n, line in enumerate(lines, 1)
    ]
    shown = guarded("\n".join(spoken))
    assert sum(s in shown for s in spoken) <= 1


def test_one_line_per_ask_adds_up_over_the_session():
    lines = [line.strip() for line in solution_lines(solutions(LAB)[GROUPS])]
    shown = guarded(*(f"Next you might write:\n```python\n{line}\n```" for line in lines))
    assert sum(line in shown for line in lines) == 1


def test_the_budget_survives_a_kernel_restart(home, llm):
    """Three asks over two kernels give what three asks in one give: one line of the three."""
    lines = [line.strip() for line in solution_lines(solutions(LAB)[GROUPS])]
    shown = []
    for kernel, batch in enumerate((lines[:1], lines[1:])):
        tutor = Tutor(LAB, config=online_config(home, llm), history=[])
        for line in batch:
            llm.script(Reply(f"Next you might write `{line}` there."))
            shown.append(tutor.ask(f"what comes after step {kernel}?").text)
    assert sum(line in text for text in shown for line in lines) == 1
    assert "removed code" in shown[-1]


def test_a_reply_without_solution_code_streams_unchanged():
    reply = (
        "What does `connected_components` return? Read its documentation: a pair.\n"
        "```python\nnp.isfinite(values)\n```\nWhich of the two do you need?"
    )
    assert guarded(reply) == reply


def test_the_shipped_fingerprints_hold_no_solution_text_and_are_current():
    for lab in known_labs():
        shipped = fingerprint_path(REPO, lab).read_text(encoding="utf-8")
        assert shipped == lab_fingerprints(REPO, lab), f"{lab}: run `python -m grader release`"
        for grade_id, prints in json.loads(shipped)["exercises"].items():
            assert grade_id in solutions(lab)
            assert all(re.fullmatch(r"[0-9a-f]{16}", h) for h in (*prints["runs"], *prints["whole_lines"]))
            assert all(type(v) is int for key in ("lines", "unseen") for v in [prints[key]])
            assert all(type(v) is int for v in prints["token_lines"])


def test_no_prompt_and_no_course_file_holds_solution_code():
    """The LLM is never told the answer, not even as words to avoid, and course/ ships none of it."""
    answers = answer_lines(Course(REPO))
    secret = {squeezed(line) for line in answers}
    secret |= {
        squeezed(line.split(" = ", 1)[1])
        for line in answers
        if " = " in line and len(line.split(" = ", 1)[1]) >= 30 and "(" in line.split(" = ", 1)[1]
    }
    # ^ what a line computes, without the name it is assigned to
    texts = [
        path.read_text(encoding="utf-8")
        for path in (REPO / "course").rglob("*")
        if path.suffix in (".toml", ".md", ".py")
    ]
    error = ErrorInfo("ValueError", "bad", ("check_record",), "x = 1")
    for lab in known_labs():
        content = load_lab(lab)
        texts.append(
            json.dumps(ask_messages(content, "why?", [], tuple(w for e in content.exercises.values() for w in e.avoid)))
        )
        for exercise in content.exercises.values():
            texts += [json.dumps(hint_messages(content, exercise, level, "", None)) for level in range(4)]
            texts.append(json.dumps(explain_messages(content, error, exercise)))
            assert all(re.fullmatch(r"[\w. ]+", word) for word in exercise.avoid), exercise.avoid
    read = [squeezed(text).replace("\\n", "") for text in texts]
    found = {line for line in secret for text in read if line in text}
    assert not found, sorted(found)

"""The guardrails: what the LLM is told, which requests it never sees, and what of its reply is shown."""

from __future__ import annotations

import pytest

from socratiq_ext.guardrails import MASK, REMOVED, ReplyGuard, is_code_line
from socratiq_ext.prompts import STUDENT_TAGS, system_prompt

LEAK = """Sure! Here is the whole function:

```python
def check_record(record):
    if "pixels" not in record:
        return "schema"
    return None
```

Run the self-check after pasting it."""


def stream(guard: ReplyGuard, text: str, size: int) -> list[str]:
    """Feed ``text`` in pieces of ``size`` characters; return what was shown after each piece."""
    shown = [guard.feed(text[i : i + size]) for i in range(0, len(text), size)]
    return shown + [guard.finish()]


@pytest.mark.parametrize("size", [1, 3, 7, 1000])
def test_a_code_block_that_writes_the_exercise_is_removed_however_it_streams(size):
    guard = ReplyGuard()
    shown = "".join(stream(guard, LEAK, size))
    assert "def check_record" not in shown and "return" not in shown
    assert shown.startswith("Sure! Here is the whole function:") and shown.rstrip().endswith("pasting it.")
    assert REMOVED.strip() in shown and guard.removed == 1


LEAKS = {
    "list items": "- def check_record(record):\n-     return 'schema'\nok",
    "numbered steps": "1. seen = set()\n2. for r in records:\n3.     key = tuple(r)\nDone.",
    "one-line fences": "A:\n```\nx = load(a)\n```\nthen\n```\ny = f(x)\n```\nthen\n```\nz = g(y)\n```\nend",
    "lines between prose": "x = np.zeros(3)\nNext\ny = x + 1\n# step 2\nz = y * 2\nend",
    "chained after prose": "Try: seen = set(); out = [r for r in records if r not in seen]\nok",
    "inline definition": "You could write `def f(r): return r['label']` and be done.",
    "assignment streamed": "X = images.reshape(len(images), -1)\nnn = NearestNeighbors(n_neighbors=6).fit(X)\nok",
    "tilde fence": "~~~\nx = 1\ny = 2\n~~~\nend",
    "async": "async def f():\n    await g()\nend",
    "tuple unpacking": "a, b = split(x)\nc = a + b\nend",
}


@pytest.mark.parametrize("size", [1, 2, 5, 1000])
@pytest.mark.parametrize("name", LEAKS)
def test_code_in_any_markdown_dress_is_held_back(name, size):
    shown = "".join(stream(ReplyGuard(), LEAKS[name], size))
    code = [line for line in LEAKS[name].splitlines() if "=" in line or "def " in line or "return" in line]
    assert sum(line.split(". ", 1)[-1].lstrip("- ") in shown for line in code) <= 1, shown
    assert "return" not in shown and "def " not in shown and "; " not in shown


@pytest.mark.parametrize("size", [1, 1000])
def test_prose_that_starts_like_a_keyword_is_kept(size):
    reply = "try the tuple key first,\nwith the label included.\nIf the label is 10, what is wrong?"
    assert "".join(stream(ReplyGuard(), reply, size)) == reply


def test_code_without_a_fence_is_caught_too():
    reply = "Try this:\ndef split_by_group(labels, groups):\n    folds = make_folds(labels)\n    return folds[0]\nGood luck."
    shown = ReplyGuard().filter(reply)
    assert "def split_by_group" not in shown and "folds[0]" not in shown and shown.endswith("Good luck.")


def test_one_line_that_shows_an_api_is_kept():
    reply = "Look at the signature:\n```python\nnp.isnan(values)\n```\nWhat does it return for a list?"
    shown = ReplyGuard().filter(reply)
    assert "np.isnan(values)" in shown and REMOVED.strip() not in shown


def test_prose_is_shown_a_sentence_at_a_time():
    """A sentence is judged whole (its end may turn it into code), and shown as soon as it ends."""
    guard = ReplyGuard()
    assert guard.feed("What would happen ") == ""
    assert guard.feed("if a record has no pixels? Think ") == "What would happen if a record has no pixels? "
    assert guard.feed("of the order\nof the") == "Think of the order\n"
    assert guard.finish() == "of the"


@pytest.mark.parametrize("size", [1, 2, 5])
def test_words_to_avoid_are_masked_across_chunk_boundaries(size):
    guard = ReplyGuard(avoid=["StratifiedGroupKFold"])
    shown = "".join(stream(guard, "You could use stratifiedgroupkfold here, or StratifiedGroupKFold.", size))
    assert "groupkfold" not in shown.lower()
    assert shown == f"You could use {MASK} here, or {MASK}."


@pytest.mark.parametrize(
    "line, code",
    [
        ("    return total / count", True),
        ("x = np.zeros(3)", True),
        ("for i in range(3):", True),
        ("from sklearn import svm", True),
        ("model.fit(x, y)", True),
        ("Think about what happens when x = 0.", False),
        ("- a list item about sorting", False),
        ("1. first, count the groups", False),
        ("If the label is 10, what is wrong?", False),
    ],
)
def test_code_lines_are_told_from_prose(line, code):
    assert is_code_line(line) is code


def test_the_system_prompt_names_the_lab_the_words_to_avoid_and_the_students_tags():
    prompt = system_prompt("lab `lab01_data`", avoid=["StratifiedGroupKFold"])
    assert "lab01_data" in prompt and "`StratifiedGroupKFold`" in prompt
    assert all(f"<{tag}>" in prompt for tag in STUDENT_TAGS)

"""Guardrails, in layers, that keep the tutor teaching rather than telling.

1. :func:`socratiq_ext.prompts.system_prompt` -- a Socratic, topic-bounded brief, with the student's text
   fenced off as data;
2. :func:`socratiq_ext.answer_requests.asks_for_answer` -- a request for the solution, or to drop the brief,
   gets a hint instead of the LLM;
3. :class:`ReplyGuard` -- every LLM reply is checked *before* display, line by line as it streams: code
   that would write an exercise is removed, however it is dressed, and so is anything that would take an
   exercise past its session budget of solution lines (judged on fingerprints); words to avoid are masked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from socratiq_ext import reading
from socratiq_ext.fingerprints import CodeLedger, LabFingerprints, Matcher

REMOVED = (
    "\n> *SocratiQ removed code that would write the exercise for you:"
    " try this step yourself, then run the self-check.*\n\n"
)
MASK = "[…]"

# How a line of Python starts, once a Markdown list or quote marker is taken off.
_MARKER = re.compile(r"^\s*(?:[-*+>]|\d+[.)])\s+")
_CODE = [
    re.compile(r"^(async\s+def|def|class|return|yield|raise|assert|lambda|import|await|del|global|nonlocal)\b"),
    re.compile(r"^from\s+[\w.]+\s+import\b"),
    re.compile(r"^(if|elif|else|for|while|with|try|except|finally|match|case)\b.*:\s*(#.*)?$"),  # a block opens
    re.compile(r"^(pass|continue|break)\s*(#.*)?$"),
    re.compile(r"^[A-Za-z_][\w.]*(\[[^\]]*\])?(\s*,\s*[A-Za-z_][\w.]*)*\s*(=|\+=|-=|\*=|/=|//=|%=|\|=|&=)(?!=)"),
    re.compile(r"^[A-Za-z_][\w.]*\(.*\)\s*(#.*)?$"),
]
# Statements chained with ";" inside prose ("Try: seen = set(); out = []"): masked to the end of the line.
# A keyword argument (``f(a=1)``) is no statement, and a ";" after a closed span is punctuation.
_CHAINED = re.compile(
    r"(?<![\w.(,=`])[A-Za-z_][\w.]*(\s*,\s*[A-Za-z_][\w.]*)*\s*=(?!=)[^;\n`]*;\s*[A-Za-z_][\w.]*\s*[(=\[.].*"
)
# An inline span that is a statement (an assignment, a block header, an import...), not an expression;
# and one that writes: a definition, a result, a lambda, chained statements.
_STATEMENT = re.compile(
    r"^((if|elif|else|for|while|with|try|except|finally|def|class|match|case)\b.*:$|(import|del|global|nonlocal)\s+\w"
    r"|from\s+[\w.]+\s+import\b|[A-Za-z_][\w.]*(\[[^\]]*\])?(\s*,\s*[A-Za-z_][\w.]*)*(\s+([-+*/%|&]|//)?=|([-+*/%|&]|//)?=\s)(?!=))"
)
_STATEMENT_WRITES = re.compile(
    r"^\s*((async\s+)?def\s+\w|class\s+\w|return\s+\S|yield\s+\S)|\blambda\b[^:]*:\s*\S|;\s*\S"
)
# Code that writes rather than shows an API: a definition, a result, several statements.
_WRITES = re.compile(r"\b(def|return|lambda|class|yield)\b|;")
_INLINE = re.compile(r"`([^`\n]+)`")
_FENCE = re.compile(r"^\s*(```|~~~)")
# Where a sentence of prose ends and another starts: prose is judged, and shown, a sentence at a time.
_SENTENCE_END = re.compile(r"[.!?]['\")\]*_]*\s+(?=\S)")


def is_code_line(line: str) -> bool:
    """Whether a whole line of a reply reads as Python rather than prose (list and quote markers aside)."""
    body = _MARKER.sub("", line, count=1).strip()
    return bool(body) and any(pattern.match(body) for pattern in _CODE)


class ReplyGuard:
    """Filter a streamed reply line by line; only what :meth:`feed` returns may be displayed.

    Each complete line is first read as a student reads it (:mod:`socratiq_ext.reading`: no
    Markdown, HTML, table, line-number, comment or look-alike disguise), then judged twice:

    * structurally -- a reply may show one line of code in all, to give an API's shape; more, or
      any definition, ``return``, ``lambda`` or ``;``, is replaced by a short note (code in a fence
      or in consecutive lines is judged as one block);
    * by meaning, when the lab ships fingerprints -- a line that would take any exercise past its
      budget of solution lines for the session (the ``ledger``) is not shown, whatever its form,
      prose with the operators spelled out included.

    Inline code that writes is masked, and so are the words to avoid. Code is judged by the line,
    prose by the sentence: a student sees the reply grow a sentence at a time.
    """

    def __init__(
        self, avoid: Iterable[str] = (), fingerprints: LabFingerprints | None = None, ledger: CodeLedger | None = None
    ):
        self._avoid = [w for w in avoid if w]
        self._mask = re.compile("|".join(re.escape(w) for w in self._avoid), re.IGNORECASE) if self._avoid else None
        self._matcher = Matcher(fingerprints, ledger if ledger is not None else CodeLedger()) if fingerprints else None
        self._line = ""  # the incomplete current line
        self._block: list[str] = []  # complete lines of code (or of a fence) waiting for judgement
        self._fence: str | None = None  # the open fence's marker
        self._code_shown = 0
        self.removed = 0

    def feed(self, chunk: str) -> str:
        """Take the next piece of the reply; return the text that is safe to show now."""
        shown = []
        self._line += chunk
        while "\n" in self._line:
            line, self._line = self._line.split("\n", 1)
            shown.append(self._complete_line(line + "\n"))
        shown.append(self._finished_sentences())
        return "".join(shown)

    def _finished_sentences(self) -> str:
        """The finished sentences of an unfinished line of prose, judged now so that prose streams."""
        ends = [end for end in _SENTENCE_END.finditer(self._line) if self._line.count("`", 0, end.end()) % 2 == 0]
        if not ends or self._fence is not None or self._block:
            return ""
        head = self._line[: ends[-1].end()]
        if _FENCE.match(reading.plain(head)) or any(map(is_code_line, _read(head))):
            return ""
        self._line = self._line[len(head) :]
        return self._prose(head)

    def finish(self) -> str:
        """The reply is complete: judge what is still held and return the rest."""
        tail = self._complete_line(self._line) if self._line else ""
        self._line = ""
        return tail + self._flush_block()

    def filter(self, text: str) -> str:
        """Filter a complete reply at once."""
        return self.feed(text) + self.finish()

    def _complete_line(self, line: str) -> str:
        fence = _FENCE.match(reading.plain(line))
        if fence and self._fence in (None, fence.group(1)):
            self._block.append(line)
            if self._fence is None:
                self._fence = fence.group(1)
                return ""
            self._fence = None
            return self._flush_block()
        if self._fence is not None or any(map(is_code_line, _read(line))) or (not line.strip() and self._block):
            self._block.append(line)  # a blank line may sit inside a block of code
            return ""
        return self._flush_block() + self._prose(line)

    def _flush_block(self) -> str:
        block, self._block, self._fence = "".join(self._block), [], None
        lines = [
            piece for raw in block.splitlines() if not _FENCE.match(reading.plain(raw)) for piece in _read(raw) if piece
        ]
        lines += [piece for hidden in reading.hidden_text(block) for piece in _read(hidden)]
        code = _code_lines(lines)
        if not code:
            return self._prose(block) if block.strip() else block
        if self._code_shown + len(code) > 1 or any(_WRITES.search(piece) for piece in code) or not self._judge(lines):
            return self._remove()
        self._code_shown += len(code)
        return self._masked(block)

    def _prose(self, text: str) -> str:
        lines = [reading.spoken_as_symbols(reading.without_spans(piece)) for piece in _read(text)]
        hidden = [piece for found in reading.hidden_text(text) for piece in _read(found)]
        code = _code_lines(hidden)  # counted like lines of code: the student reads them as such
        if (
            self._code_shown + len(code) > 1
            or any(_WRITES.search(piece) for piece in code)
            or not self._judge(lines + hidden, reading.inline_spans(text))
        ):
            return self._remove()
        self._code_shown += len(code)

        def span(match: re.Match) -> str:
            """An inline span may name anything; one statement in all may show (as one line of code may)."""
            code = match.group(1).strip()
            if _STATEMENT_WRITES.search(code):
                return f"`{MASK}`"
            if _STATEMENT.match(code):
                self._code_shown += 1
                if self._code_shown > 1:
                    return f"`{MASK}`"
            return match.group(0)

        return self._masked(_CHAINED.sub(MASK, _INLINE.sub(span, text)))

    def _judge(self, lines: list[str], code: list[str] = ()) -> bool:
        return self._matcher is None or self._matcher.judge(lines, code)

    def _remove(self) -> str:
        self.removed += 1
        if self._matcher is not None:
            self._matcher.withheld()
        return REMOVED

    def _masked(self, text: str) -> str:
        return self._mask.sub(MASK, text) if self._mask else text


def _read(raw: str) -> list[str]:
    """The lines a student reads in a piece of a reply, each without the dress that may hide code."""
    return [reading.unprefixed(piece) for line in raw.splitlines() for piece in reading.logical_lines(line)]


def _code_lines(lines: list[str]) -> list[str]:
    """The lines that are code, a traceback's quoted source lines aside (they are the student's own code)."""
    code, quoting = [], False
    for line in lines:
        if quoting:
            quoting = False
        elif is_code_line(line):
            code.append(line)
        quoting = line.startswith('File "')
    return code

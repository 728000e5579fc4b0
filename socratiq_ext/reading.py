"""A reply as a student reads it: formatting taken off, so that a disguise changes nothing.

An LLM can dress code as anything that renders or reads as code: Markdown lists, quotes and
tables, HTML, numbered lines ("Line 12: ..."), comments ("# x = ..."), inline spans, one
statement per ``<br>``, look-alike letters, base64, or operators spelled out in words ("x
equals y open paren z close paren"). The guard judges what is left once all of that is undone.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
import unicodedata

# Characters that render as nothing: a reader never sees them, a pattern would.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff\u180e"), None)
# Letters from other scripts that look like Latin ones (NFKC keeps them apart).
_LOOK_ALIKES = str.maketrans(
    "\u0430\u0435\u043e\u0440\u0441\u0443\u0445\u0456\u0458\u0455\u04bb\u0410\u0412\u0415\u041a\u041c\u041d\u041e"
    "\u0420\u0421\u0422\u0425\u03bf\u03bd\u03b1\u0391\u0392\u0395\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a7",
    "aeopcyxijshABEKMHOPCTXovaABEHIKMNOPTX",
)
# Typographic symbols that stand for Python's operators and quotes when a student types the code back.
_SYMBOLS = str.maketrans(
    {
        "\u2212": "-",
        "\u2013": "-",
        "\u00d7": "*",
        "\u00f7": "/",
        "\u2264": "<=",
        "\u2265": ">=",
        "\u2260": "!=",
        "\u2192": "->",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2254": ":=",
    }
)
# Letters spaced out one by one ("f l a t = i m a g e s"): read as the words they spell.
_SPACED = re.compile(r"(?<!\w)(?:\w ){2,}\w(?!\w)")
_TAG = re.compile(r"<\s*/?\s*[A-Za-z][\w-]*(\s[^<>]*)?/?\s*>")
_BREAK = re.compile(r"<\s*(br|/p|/div|/li|/tr|p|div|li|tr)\b[^<>]*>", re.IGNORECASE)
# What may precede a line of code without being code: list, quote and heading markers, line numbers
# ("12.", "(12)", "L12:", "Line 12 -", "12 |"), comment markers, and any mix of them.
_PREFIX = re.compile(
    r"^\s*(?:(?:[-*+>#]+|\d+[.):|]|\(\d+\)|\[\d+\]|(?:line|l[íi]nea|ligne|zeile|riga|linha|行|第)?\s*\d+\s*[:.)|\-–—]"
    r"|(?:line|l[íi]nea|ligne|zeile|riga|linha)\s+\d+|//+|--|%|rem\b|;+)\s*)+",
    re.IGNORECASE,
)
_EMPHASIS = re.compile(r"(\*\*|__|~~|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w))")
_INLINE = re.compile(r"`+([^`\n]+?)`+")
_BASE64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")
_WRAPPED = re.compile(r'^(?:(["\'])(?P<a>.+)\1|\u00ab(?P<b>.+)\u00bb)[.,;]?$')  # curly quotes are ASCII by now
_QUOTED = re.compile(
    r'"([^"\n]{8,})"|\u201c([^\u201d\n]{8,})\u201d|\u00ab([^\u00bb\n]{8,})\u00bb|(?<!\w)\'([^\'\n]{8,})\'(?!\w)'
)
_CODE_MARK = re.compile(r"[=(\[]|:\s*$")  # what quoted prose rarely holds and code nearly always does
_ESCAPED_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*\\n(?:[^"\\\n]|\\.)*"')

# Code read aloud: the words a reader turns back into symbols (English, and the most common others).
# Longest phrases first, so "less than or equal to" wins over "less than".
_SPOKEN = {
    "+=": ["plus equals"],
    "-=": ["minus equals"],
    "*=": ["times equals"],
    "/=": ["divided equals"],
    ":=": ["walrus"],
    "->": ["arrow"],
    "@": ["matmul"],
    "&": ["ampersand"],
    "|": ["pipe"],
    "^": ["caret"],
    "~": ["tilde"],
    "==": ["double equals", "is equal to", "equal equal", "equals equals", "igual igual", "égal égal"],
    "!=": ["not equal to", "not equals", "is not equal to", "bang equals", "distinto de"],
    "<=": ["less than or equal to", "less than or equals", "at most"],
    ">=": ["greater than or equal to", "greater than or equals", "at least"],
    "<": ["less than", "menor que", "inférieur à", "kleiner als"],
    ">": ["greater than", "mayor que", "supérieur à", "größer als"],
    "**": ["to the power of", "star star", "double star"],
    "//": ["floor divided by", "integer divided by", "double slash"],
    "(": [
        "open paren",
        "open parenthesis",
        "opening parenthesis",
        "left paren",
        "left parenthesis",
        "open bracket round",
        "abre paréntesis",
        "paréntesis abierto",
        "parenthèse ouvrante",
        "klammer auf",
    ],
    ")": [
        "close paren",
        "close parenthesis",
        "closing parenthesis",
        "right paren",
        "right parenthesis",
        "cierra paréntesis",
        "paréntesis cerrado",
        "parenthèse fermante",
        "klammer zu",
    ],
    "[": ["open bracket", "open square bracket", "left bracket", "left square bracket", "abre corchete"],
    "]": ["close bracket", "close square bracket", "right bracket", "right square bracket", "cierra corchete"],
    "{": ["open brace", "open curly", "left brace", "left curly brace"],
    "}": ["close brace", "close curly", "right brace", "right curly brace"],
    "=": ["equals sign", "equal sign", "equals", "is assigned", "gets", "assign", "igual a", "igual", "égal", "gleich"],
    "+": ["plus", "más"],
    "-": ["minus", "negative", "menos"],
    "*": ["times", "multiplied by", "star", "asterisk", "por"],
    "/": ["divided by", "over", "slash", "entre"],
    "%": ["modulo", "mod", "percent"],
    ".": ["dot", "period", "punto", "point", "punkt"],
    ",": ["comma", "coma", "virgule", "komma"],
    ":": ["colon", "dos puntos", "deux points", "doppelpunkt"],
    ";": ["semicolon", "punto y coma"],
    "_": ["underscore", "guion bajo"],
    '"': ["double quote", "quote", "comillas", "guillemets"],
}
_SPOKEN_PATTERN = re.compile(
    r"\b(" + "|".join(sorted((re.escape(w) for ws in _SPOKEN.values() for w in ws), key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)
_SYMBOL_OF = {w.lower(): symbol for symbol, words in _SPOKEN.items() for w in words}


def plain(text: str) -> str:
    """Unicode as a reader sees it: compatibility forms folded (fullwidth, ligatures), invisible
    characters dropped, look-alike letters from other scripts read as Latin, HTML entities decoded."""
    text = unicodedata.normalize("NFKC", html.unescape(text)).translate(_INVISIBLE).translate(_LOOK_ALIKES)
    return text.translate(_SYMBOLS)


def logical_lines(line: str) -> list[str]:
    """One line of a reply as the lines a reader sees in it: HTML breaks split it, tags go, and each
    cell of a Markdown table row is a line of its own."""
    line = plain(line)
    pieces = _BREAK.split(line)[::2] if _BREAK.search(line) else [line]
    out = []
    for piece in pieces:
        piece = _TAG.sub("", piece)
        if piece.count("|") >= 2 and piece.strip().startswith("|"):
            out += [cell for cell in piece.strip().strip("|").split("|") if cell.strip(" -:")]
        else:
            out.append(piece)
    return out


def unprefixed(line: str) -> str:
    """A logical line without what may precede code (markers, line numbers, comment signs), emphasis
    or quotation marks around it."""
    line = _EMPHASIS.sub("", _PREFIX.sub("", line, count=1)).strip()
    line = _SPACED.sub(lambda letters: letters.group().replace(" ", ""), line)
    wrapped = _WRAPPED.match(line)  # a whole line in quotation marks reads as what they enclose
    return (wrapped.group("a") or wrapped.group("b")).strip() if wrapped else line


def inline_spans(line: str) -> list[str]:
    """The contents of a line's inline code spans, spaces kept: pieces of one line may be split across spans."""
    return _INLINE.findall(line)


def without_spans(line: str) -> str:
    """The line with its inline code spans' backticks taken off, contents kept."""
    return _INLINE.sub(lambda span: span.group(1), line)


def hidden_text(line: str) -> list[str]:
    """Text a line hides that a student reveals in one step: base64, string literals with escaped
    newlines (code inside a JSON value), and code inside quotation marks (a token of its own to a parser)."""
    return _decoded_blobs(line) + _unescaped_strings(line) + _quoted_code(line)


def _quoted_code(line: str) -> list[str]:
    return [text for found in _QUOTED.findall(line) for text in found if text and _CODE_MARK.search(text)]


def _unescaped_strings(line: str) -> list[str]:
    found = []
    for literal in _ESCAPED_STRING.findall(line):
        try:
            found.append(json.loads(literal))
        except ValueError:
            found.append(literal[1:-1].replace("\\n", "\n").replace('\\"', '"'))
    return found


def _decoded_blobs(line: str) -> list[str]:
    found = []
    for blob in _BASE64.findall(line):
        try:
            text = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if text.isprintable() or "\n" in text:
            found.append(text)
    return found


def spoken_as_symbols(line: str) -> str:
    """Operators read aloud turned back into symbols: "x equals y dot f open paren z close paren"
    reads ``x = y . f ( z )``; "n underscore neighbors" reads ``n_neighbors``."""
    if not _SPOKEN_PATTERN.search(line):
        return line
    line = _SPOKEN_PATTERN.sub(lambda word: f" {_SYMBOL_OF[word.group(1).lower()]} ", line)
    return re.sub(r"\s*_\s*", "_", line)

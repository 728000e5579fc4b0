"""Find the passage of the course text that answers a question.

TF-IDF (scikit-learn's vectorizer) over paragraphs is enough for a course of a
few thousand words: no model to download, a millisecond per query, and every
answer can cite the section it came from. Character n-grams within words match
"augment" to "augmentation" and "flagger" to "flagged" without a stemmer;
stop words are dropped first so that "what is the ..." matches nothing by itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from socratiq_ext.content import Section

# Below this cosine similarity a "match" shares only fragments of common words with the question
# (an off-topic question such as "what is the capital of France" scores about 0.12).
MIN_SCORE = 0.14


@dataclass(frozen=True)
class Passage:
    """A paragraph that answers a question, with the section it cites."""

    section: Section
    text: str
    score: float

    @property
    def citation(self) -> str:
        return f"{self.section.source}, section “{self.section.title}”"


def _content_words(text: str) -> str:
    return " ".join(w for w in re.findall(r"[a-z0-9_.]+", text.lower()) if w not in ENGLISH_STOP_WORDS)


class PassageIndex:
    """Paragraphs of the given sections, searchable by the words they share with a question."""

    def __init__(self, sections: tuple[Section, ...]):
        self._passages = [(s, p.strip()) for s in sections for p in s.text.split("\n\n") if p.strip()]
        self._vectorizer = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, preprocessor=_content_words
        )
        # The heading is part of every paragraph, so "what is a data cascade" finds its section.
        self._matrix = self._vectorizer.fit_transform([f"{s.title}. {text}" for s, text in self._passages])

    def search(self, query: str, k: int = 3) -> list[Passage]:
        """The ``k`` best passages, best first; empty when nothing in the course is about the query."""
        scores = (self._matrix @ self._vectorizer.transform([query]).T).toarray().ravel()
        best = np.argsort(-scores, kind="stable")[:k]
        return [Passage(*self._passages[i], float(scores[i])) for i in best if scores[i] >= MIN_SCORE]

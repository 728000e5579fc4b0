"""The SocratiQ panel: ipywidgets on top of :class:`~socratiq_ext.tutor.Tutor`.

The panel only lays out widgets and moves text between them and the tutor. A
reply streams from a worker thread, so the kernel stays free to receive a click
on Stop; every failure ends as one line in the notice bar, never a traceback.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable

import ipywidgets as w
import mistune

from socratiq_ext.content import Question
from socratiq_ext.offline import OFFLINE
from socratiq_ext.tutor import Tutor

# Escaping raw HTML keeps whatever an LLM writes from becoming markup in the notebook.
_markdown = mistune.create_markdown(escape=True, plugins=["strikethrough", "table"])
TABS = ("Hint", "Explain error", "Ask", "Quiz", "Progress")


def render(markdown: str) -> str:
    """Markdown to the HTML an ``HTML`` widget shows."""
    return f'<div class="socratiq-reply">{_markdown(markdown)}</div>'


class TutorPanel:
    """One panel per tutor; ``widget`` is what the notebook displays."""

    def __init__(self, tutor: Tutor):
        self.tutor = tutor
        self._worker: threading.Thread | None = None
        self._stop = threading.Event()
        self._turn = 0  # each action's number: a stopped worker's late output is dropped
        self._question: Question | None = None

        self.status = w.HTML()
        self.show_status()
        self.notice = w.HTML()
        self.stop_button = w.Button(description="Stop", icon="stop", disabled=True, tooltip="Stop the reply")
        self.stop_button.on_click(lambda _: self.stop())

        auto = [("The exercise I am on", None)]  # index=0: with a None value ipywidgets would show nothing
        exercises = [(e.title, g) for g, e in tutor.content.exercises.items()]
        self.exercise = w.Dropdown(options=auto + exercises, index=0, description="Exercise")
        self.hint_button = w.Button(description="Hint", icon="lightbulb-o", button_style="info")
        self.hint_out = w.HTML()
        self.hint_button.on_click(
            lambda _: self._run(self.hint_out, lambda **kw: tutor.hint(self.exercise.value, **kw))
        )

        self.explain_button = w.Button(description="Explain error", icon="bug", button_style="warning")
        self.explain_out = w.HTML()
        self.explain_button.on_click(lambda _: self._run(self.explain_out, tutor.explain_error))

        self.question = w.Textarea(
            placeholder="Ask about the lab, e.g. why cache before augmenting?", layout={"width": "98%"}
        )
        self.ask_button = w.Button(description="Ask", icon="question", button_style="primary")
        self.ask_out = w.HTML()
        self.ask_button.on_click(lambda _: self._run(self.ask_out, lambda **kw: tutor.ask(self.question.value, **kw)))

        self.quiz_prompt = w.HTML()
        self.choices = w.RadioButtons(layout={"width": "98%"})
        self.short_answer = w.Text(placeholder="Your answer")
        self.check_button = w.Button(description="Check", icon="check", button_style="success")
        self.next_button = w.Button(description="Next question", icon="forward")
        self.generate_button = w.Button(
            description="New question (LLM)", icon="magic", disabled=tutor.backend is None, layout={"width": "auto"}
        )
        self.quiz_out = w.HTML()
        self.check_button.on_click(self._safely(self._check))
        self.next_button.on_click(self._safely(lambda: self._show_question(tutor.quiz(after=self._question))))
        self.generate_button.on_click(lambda _: self._run(self.quiz_prompt, self._generate, after=self._show_question))

        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.progress_text = w.HTML()
        self.progress_plot = w.Image(format="png", layout={"max_width": "100%"})
        self.refresh_button.on_click(self._safely(self.show_progress))

        self.actions = [self.hint_button, self.explain_button, self.ask_button, self.generate_button]
        self.tabs = w.Tab(
            children=[
                w.VBox([w.HBox([self.exercise, self.hint_button]), self.hint_out]),
                w.VBox([self.explain_button, self.explain_out]),
                w.VBox([self.question, self.ask_button, self.ask_out]),
                w.VBox(
                    [
                        self.quiz_prompt,
                        self.choices,
                        self.short_answer,
                        w.HBox([self.check_button, self.next_button, self.generate_button]),
                        self.quiz_out,
                    ]
                ),
                w.VBox([self.refresh_button, self.progress_text, self.progress_plot]),
            ],
            titles=TABS,
        )
        self.tabs.observe(lambda change: self._safely(lambda: self._on_tab(change["new"]))(), names="selected_index")
        self.widget = w.VBox(
            [self.status, self.tabs, w.HBox([self.stop_button, self.notice])], layout={"border": "1px solid #ccc"}
        )
        self.widget.add_class("socratiq-panel")

    # -- running actions ----------------------------------------------------------------------
    def _run(self, target: w.HTML, action: Callable, after: Callable | None = None) -> None:
        """Run one tutor action in a worker thread, streaming its text into ``target``."""
        if self.busy:
            return
        self._stop.clear()
        self._turn += 1
        turn = self._turn
        self._set_busy(True)
        self._say(None)

        def show(text: str) -> None:
            if turn == self._turn:
                target.value = render(text)

        def work():
            try:
                result = action(on_text=show, stop=self._stop)
                if turn == self._turn:
                    self._say(result.notice)
                    if after is not None:
                        after(result)
            except Exception as error:  # noqa: BLE001 - the panel shows one line, never a traceback
                self._say(f"SocratiQ could not do that: {error}")
            finally:
                self.show_status()  # a failure or a reply may have switched the tutor offline or online
                if turn == self._turn:
                    self._set_busy(False)

        self._worker = threading.Thread(target=work, name="socratiq-reply", daemon=True)
        self._worker.start()

    def show_status(self) -> None:
        """The tutor's one status line: online, or offline and why (it follows the server's last answer)."""
        self.status.value = f"<b>SocratiQ</b> · {self.tutor.lab} · <i>{mistune.escape(self.tutor.status)}</i>"

    def stop(self) -> None:
        """End the current reply now; whatever its worker still receives is dropped."""
        self._stop.set()
        self._turn += 1
        self._set_busy(False)
        self._say("stopped")

    @property
    def busy(self) -> bool:
        return not self.stop_button.disabled

    def wait(self, timeout: float | None = None) -> None:
        """Block until the current action's worker has finished (for scripts and tests)."""
        if self._worker is not None:
            self._worker.join(timeout)

    def _safely(self, handler: Callable[[], None]) -> Callable:
        """A click handler that reports a failure in one line instead of ipywidgets' traceback."""

        def on_event(*_):
            try:
                handler()
            except Exception as error:  # noqa: BLE001
                self._say(f"SocratiQ could not do that: {error}")

        return on_event

    def _set_busy(self, busy: bool) -> None:
        for button in self.actions:
            button.disabled = busy or (button is self.generate_button and self.tutor.backend is None)
        self.stop_button.disabled = not busy

    def _say(self, line: str | None) -> None:
        """Show a one-line notice; the offline state is already in the status line."""
        self.notice.value = f"<i>{mistune.escape(line)}</i>" if line and line != OFFLINE else ""

    # -- quiz ---------------------------------------------------------------------------------
    def _on_tab(self, index: int) -> None:
        if TABS[index] == "Quiz" and self._question is None:
            self._show_question(self.tutor.quiz())
        elif TABS[index] == "Progress":
            self.show_progress()

    def _generate(self, on_text: Callable[[str], None], stop: threading.Event) -> Question:
        on_text("*Writing a new question…*")
        return self.tutor.quiz(generate=True, after=self._question, stop=stop)

    def _show_question(self, question: Question) -> None:
        self._question = question
        origin = " <i>(new, written by the LLM)</i>" if question.origin == "generated" else ""
        self.quiz_prompt.value = render(f"**{question.topic.capitalize()}**{origin} — {question.prompt}")
        if question.kind == "multiple_choice":
            self.choices.options = [(c, i) for i, c in enumerate(question.choices)]
        elif question.kind == "true_false":
            self.choices.options = [("True", True), ("False", False)]
        self.choices.value = None
        self.choices.layout.display = "none" if question.kind == "short_answer" else None
        self.short_answer.layout.display = None if question.kind == "short_answer" else "none"
        self.short_answer.value = ""
        self.quiz_out.value = ""
        self.check_button.disabled = False
        self._say(question.notice)

    def _check(self) -> None:
        question = self._question
        if question is None:
            return
        response = self.short_answer.value if question.kind == "short_answer" else self.choices.value
        if response is None or response == "":
            self._say("Pick or type an answer first.")
            return
        result = self.tutor.check(question, response)
        self.quiz_out.value = render(result.text)
        self.check_button.disabled = True  # one answer per question counts; Next asks another
        self._say(None)

    # -- progress -----------------------------------------------------------------------------
    def show_progress(self) -> None:
        import matplotlib.pyplot as plt

        report = self.tutor.progress()
        fig = report.figure()
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=100)
        plt.close(fig)
        self.progress_plot.value = png.getvalue()
        self.progress_text.value = render(report.text())
        self._say(report.notice)

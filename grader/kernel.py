"""The kernel a submission is graded in: IPython, except for the hidden tests.

nbgrader scores a test cell by whether its outputs hold an error, so a
submission that can stop errors from being *shown* -- an input transformer
that empties the next cells, a patched ``showtraceback`` or
``sys.excepthook``, a no-op ``numpy.testing.assert_allclose``, a rebound
``np`` or ``isinstance`` -- would pass every test without doing the work.

The grader marks each cell it sends with a first line (see
:mod:`grader.execute`): ``#grader:student``, ``#grader:locked`` or
``#grader:test``. Student and locked cells run through IPython as usual. Before
a test cell, this kernel puts back what it recorded before any student code
ran (builtins, the modules and names that locked cells set up, the standard
streams, IPython's and the kernel's own classes), and then runs the test's code
itself, with ``exec``, reporting any exception on its own -- IPython's
transformers, traceback display and hooks are not on that path.

What no in-process guard can stop is code written against this module by
name; those submissions do not pass by accident, and stand out on reading.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import sys
import threading
import traceback
import types

from ipykernel.ipkernel import IPythonKernel

HEADER = "#grader:"
# What hidden tests check with: snapshot before any student code runs.
PRISTINE_MODULES = ("math", "numpy", "numpy.testing")
TEST_FILENAME = "<test cell>"


def split_header(code: str) -> tuple[str, str]:
    """``('test' | 'locked' | 'student', code without the header)``; unmarked code is a student's."""
    first, _, rest = code.partition("\n")
    if first.startswith(HEADER):
        return first[len(HEADER) :].strip(), rest
    return "student", code


def bound_names(code: str) -> set[str]:
    """Names a cell binds at top level (imports, assignments, definitions)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names if alias.name != "*"}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.With)):
            for target in ast.walk(node):
                if isinstance(target, ast.Name) and isinstance(target.ctx, ast.Store):
                    names.add(target.id)
    return names


class Snapshot:
    """A shallow copy of a namespace, put back on :meth:`restore`."""

    def __init__(self, namespace: dict):
        self.namespace = namespace
        self.saved = dict(namespace)

    def restore(self) -> None:
        for name, value in self.saved.items():
            if self.namespace.get(name, self) is not value:
                self.namespace[name] = value


class Guard:
    """What a test cell must see: the state recorded before student code ran."""

    def __init__(self, kernel: IPythonKernel):
        self.kernel = kernel
        self.shell = kernel.shell
        self.streams = (sys.stdout, sys.stderr)
        self.snapshots = [Snapshot(vars(builtins))]
        self.classes = [ClassSnapshot(cls) for cls in _machinery_classes(kernel)]
        self.transformers = (
            list(self.shell.input_transformers_cleanup),
            list(self.shell.input_transformers_post),
            list(self.shell.ast_transformers),
        )
        self.modules: set[str] = set()
        self.protected: dict[str, object] = {}
        for name in PRISTINE_MODULES:  # imported now, before any cell, so no student cell patches them first
            try:
                importlib.import_module(name)
            except ImportError:
                continue
            self._watch_module(name)

    def _watch_module(self, name: str) -> None:
        """Snapshot an imported module's namespace once, so a patched helper in it is put back."""
        module = sys.modules.get(name)
        if module is not None and name not in self.modules:
            self.modules.add(name)
            self.snapshots.append(Snapshot(vars(module)))

    def remember(self, code: str) -> None:
        """After a locked or test cell: protect the names it bound, and the modules they hold."""
        namespace = self.shell.user_ns
        for name in bound_names(code):
            if name in namespace:
                value = self.protected[name] = namespace[name]
                if isinstance(value, types.ModuleType):
                    self._watch_module(value.__name__)

    def restore(self) -> None:
        """Undo whatever student code changed in the machinery a test cell relies on."""
        for snapshot in self.snapshots + self.classes:
            snapshot.restore()
        for name in ("showtraceback", "run_cell", "run_ast_nodes", "transform_cell", "_showtraceback"):
            vars(self.shell).pop(name, None)
        for name in ("do_execute", "send_response", "execute_request"):
            vars(self.kernel).pop(name, None)
        cleanup, post, ast_transformers = self.transformers
        self.shell.input_transformers_cleanup[:] = cleanup
        self.shell.input_transformers_post[:] = post
        self.shell.ast_transformers[:] = ast_transformers
        sys.stdout, sys.stderr = self.streams
        sys.excepthook = sys.__excepthook__
        sys.settrace(None)
        sys.setprofile(None)
        threading.settrace(None)
        threading.setprofile(None)
        self.shell.user_ns.update(self.protected)


class ClassSnapshot(Snapshot):
    """A class's attributes sit behind a read-only mappingproxy: put them back with ``setattr``."""

    def __init__(self, cls: type):
        self.cls = cls
        self.saved = dict(vars(cls))

    def restore(self) -> None:
        current = vars(self.cls)
        for name, value in self.saved.items():
            if current.get(name, self) is not value:
                try:
                    setattr(self.cls, name, value)
                except (AttributeError, TypeError):
                    pass


def _machinery_classes(kernel: IPythonKernel) -> list[type]:
    """The classes whose methods carry a cell from the request to its reply."""
    classes = [*type(kernel).__mro__, *type(kernel.shell).__mro__, type(kernel.session)]
    return [cls for cls in dict.fromkeys(classes) if cls is not object]


class GuardedKernel(IPythonKernel):
    """IPython's kernel, with hidden tests run on a path that student code has not touched."""

    implementation = "grader-guarded"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._guard = Guard(self)

    async def do_execute(self, code, silent, store_history=True, user_expressions=None, allow_stdin=False, **kwargs):
        kind, code = split_header(code)
        if kind == "test":
            return self._run_test(code, store_history)
        reply = await super().do_execute(code, silent, store_history, user_expressions, allow_stdin, **kwargs)
        if kind == "locked":
            self._guard.remember(code)
        return reply

    def _run_test(self, code: str, store_history: bool) -> dict:
        guard = self._guard
        guard.restore()
        shell = self.shell
        if store_history:
            shell.execution_count += 1
        count = shell.execution_count
        try:
            exec(compile(code, TEST_FILENAME, "exec"), shell.user_ns)  # noqa: S102 -- the instructor's test
        except BaseException as error:  # noqa: BLE001 -- every failure of a test is reported, even SystemExit
            content = {
                "ename": type(error).__name__,
                "evalue": str(error),
                "traceback": traceback.format_exception(error),
            }
            guard.restore()
            sys.stdout.flush()
            self.send_response(self.iopub_socket, "error", content)
            return {"status": "error", "execution_count": count, **content}
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        guard.remember(code)
        return {"status": "ok", "execution_count": count, "payload": [], "user_expressions": {}}

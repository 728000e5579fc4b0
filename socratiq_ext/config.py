"""Where the tutor keeps its state and which LLM, if any, it talks to.

Settings come from the environment first, then from ``$SOCRATIQ_HOME/config.toml``,
so a student can switch servers for one kernel without editing a file::

    [llm]
    base_url = "http://127.0.0.1:11434/v1"   # any OpenAI-compatible server: Ollama, vLLM, llama.cpp, OpenAI
    model = "llama3.2"
    api_key = "..."                          # or SOCRATIQ_API_KEY / OPENAI_API_KEY
    timeout = 10                             # seconds a student waits at most before the offline answer
    max_retries = 0                          # retries share that wait

The tutor goes online only for a server someone named (``base_url``): student code
leaves the machine only then, so a key alone (e.g. ``OPENAI_API_KEY`` set for other
tools) keeps it offline.

    [tutor]
    hint_budget = 6                          # hints per exercise and hour; leave out for no limit
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs

DEFAULT_MODEL = "gpt-4o-mini"
# Local servers (Ollama, llama.cpp) ignore the key, but the openai client refuses to start without one.
KEYLESS = "no-key-needed"
# The longest a student waits before the offline answer, retries included.
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MAX_RETRIES = 0


class ConfigError(ValueError):
    """A setting that cannot be used; the message says which and how to fix it."""


@dataclass(frozen=True)
class LLMConfig:
    """How to reach an OpenAI-compatible server. The key, and the URL (which may hold one), stay out of ``repr``."""

    base_url: str = field(repr=False)
    model: str
    api_key: str = field(repr=False)
    timeout: float = DEFAULT_TIMEOUT_S  # the whole wait before the offline answer, retries included
    max_retries: int = DEFAULT_MAX_RETRIES

    def describe(self) -> str:
        """One line for the panel, naming the server but never the key (nor credentials in the URL)."""
        return f"{self.model} at {redact_url(self.base_url)}"


def redact_url(value: str) -> str:
    """A URL as safe to show: user, password, query and fragment dropped, since any of them may carry
    a key (``https://user:secret@host/v1``, ``?api_key=...``). Works on malformed URLs too, which
    error messages must be able to name."""
    text = re.split(r"[?#]", str(value).strip(), maxsplit=1)[0]
    return _USERINFO.sub(r"\1", text)


_USERINFO = re.compile(r"^((?:[A-Za-z][\w+.-]*:)?//)?[^/]*@")


@dataclass(frozen=True)
class TutorConfig:
    """Everything the tutor is told by its user: the LLM (None: offline) and the hint budget."""

    home: Path
    llm: LLMConfig | None = None
    hint_budget: int | None = None

    @property
    def progress_path(self) -> Path:
        return self.home / "progress.sqlite3"


def socratiq_home(env: Mapping[str, str] = os.environ) -> Path:
    """``$SOCRATIQ_HOME``, or the per-user data directory of the platform."""
    return Path(env.get("SOCRATIQ_HOME") or platformdirs.user_data_dir("socratiq", appauthor=False))


def load_config(env: Mapping[str, str] = os.environ) -> TutorConfig:
    """Read the environment and the config file; raise :class:`ConfigError` on a bad value."""
    home = socratiq_home(env)
    file = _read_file(home / "config.toml")
    llm_file, tutor_file = _table(file, "llm"), _table(file, "tutor")

    def setting(env_name: str, key: str, table: Mapping = llm_file):
        return env.get(env_name) or table.get(key)

    base_url = setting("SOCRATIQ_BASE_URL", "base_url")
    api_key = setting("SOCRATIQ_API_KEY", "api_key") or env.get("OPENAI_API_KEY")
    llm = None
    if base_url:  # only a named server: a key alone must not send student code anywhere
        llm = LLMConfig(
            base_url=_url(base_url),
            model=_text("model", setting("SOCRATIQ_MODEL", "model") or DEFAULT_MODEL),
            api_key=_text("api_key", api_key or KEYLESS),
            timeout=_number("timeout", setting("SOCRATIQ_TIMEOUT", "timeout") or DEFAULT_TIMEOUT_S, float),
            max_retries=_number(
                "max_retries", _or_default(setting("SOCRATIQ_MAX_RETRIES", "max_retries"), DEFAULT_MAX_RETRIES), int
            ),
        )
    budget = setting("SOCRATIQ_HINT_BUDGET", "hint_budget", tutor_file)
    return TutorConfig(home=home, llm=llm, hint_budget=None if budget is None else _number("hint_budget", budget, int))


def _table(file: dict, name: str) -> dict:
    table = file.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"config.toml: [{name}] must be a table of settings, not {table!r}")
    return table


def _text(name: str, value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"SocratiQ setting {name} must be a non-empty string: fix it in the environment or config.toml"
        )
    return value.strip()


def _url(value) -> str:
    url = urlsplit(_text("base_url", value))
    try:
        url.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.hostname:
        raise ConfigError(
            f"SocratiQ setting base_url ({redact_url(value)}) is not an http(s) URL: use e.g. http://127.0.0.1:11434/v1"
        )
    return value.strip()


def _or_default(value, default):
    """``value`` unless it is unset or empty; 0 is a setting, not a gap."""
    return default if value is None or value == "" else value


def _read_file(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path} is not valid TOML ({error}): fix it or move it aside") from None


def _number(name: str, value, kind: type):
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"SocratiQ setting {name}={value!r} is not a {kind.__name__}: fix it in the environment or config.toml"
        ) from None
    if number < 0:
        raise ConfigError(f"SocratiQ setting {name}={value!r} must not be negative")
    return number

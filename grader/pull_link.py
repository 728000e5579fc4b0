"""nbgitpuller links: the lighter way to hand the labs out, for a hub without nbgrader's exchange.

The student edition (``python -m grader publish DIR``) is a git repository: push it where the hub's user pods can
clone it over HTTP(S), unauthenticated. A link from :func:`pull_link`, posted in the LMS, sends a student to the
hub; there nbgitpuller (installed in the single-user image, ``deploy/docker/Dockerfile``) clones the edition into
the student's home on the first click, pulls and merges on later ones (the student's own edits win, as
nbgitpuller's automatic merging does), and opens the lab's notebook in JupyterLab. Students then hand their
notebook in through the LMS, not the exchange.

The link is ``<hub>/hub/user-redirect/git-pull?repo=...&branch=...&urlpath=...``, nbgitpuller's documented
parameters: ``repo`` is what ``git clone`` gets, ``branch`` the branch pulled, ``urlpath`` where the browser goes
afterwards, relative to the user's server: ``lab/tree/<clone folder>/labs/<lab>/<lab>.ipynb``, where the clone
folder is the repository's last path part without ``.git`` (where ``git clone`` puts it).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path
from urllib.parse import SplitResult, quote, urlencode, urlsplit

ENDPOINT = "hub/user-redirect/git-pull"
# A branch name git accepts and a URL needs no care for: no spaces, no leading dash, no "..", no trailing dot or slash.
BRANCH = re.compile(r"^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]*[A-Za-z0-9_-]$")


def pull_link(
    hub_url: str, repo_url: str, lab: str, branch: str = "main", *, labs: Collection[str] | None = None
) -> str:
    """The nbgitpuller link that clones (or updates) ``repo_url`` for a student of ``hub_url`` and opens ``lab``.

    ``hub_url`` is the hub's public address (``https://hub.example.edu``, or with the prefix it is served under);
    ``repo_url`` the student edition's HTTP(S) clone URL; ``lab`` a lab id of the edition (``lab01_data``),
    checked against ``labs`` (default: this course's released labs, ``labs/``). Raises ValueError, saying what
    is wrong, for a URL that is not http(s), a lab the edition does not hold, or an unusable branch.
    """
    for name, value in (("hub_url", hub_url), ("repo_url", repo_url), ("lab", lab), ("branch", branch)):
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a string, got {value!r}")
    hub_url, repo_url = hub_url.strip(), repo_url.strip()
    hub = _http_url(hub_url, "hub URL")
    if hub.query or hub.fragment:
        raise ValueError(f"the hub URL {hub_url!r} must be the hub's address alone, without ?query or #fragment")
    repo = _http_url(repo_url, "repository URL")
    folder = repo.path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    if not folder:
        raise ValueError(f"the repository URL {repo_url!r} names no repository (e.g. https://host/course/labs.git)")
    known = sorted(labs) if labs is not None else _released_labs()
    if lab not in known:
        raise ValueError(f"unknown lab {lab!r}: the student edition holds {', '.join(known) or 'no lab'}")
    if not BRANCH.match(branch):
        raise ValueError(f"{branch!r} is not a branch name a link can carry (letters, digits, '.', '_', '-', '/')")
    query = {"repo": repo_url, "branch": branch, "urlpath": f"lab/tree/{folder}/labs/{lab}/{lab}.ipynb"}
    base = hub_url.rstrip("/")
    return f"{base}/{ENDPOINT}?{urlencode(query, quote_via=quote, safe='')}"


def _http_url(url: str, what: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed [IPv6 bracket
        parts, host = None, None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise ValueError(
            f"the {what} must be an http:// or https:// address with a host, got {url!r}"
            + (" (students' pods clone over HTTP(S), without SSH keys)" if "repository" in what else "")
        )
    return parts


def _released_labs() -> list[str]:
    from grader.layout import Course  # nbgrader's configuration loads only when no list is given

    return Course(Path(__file__).resolve().parents[1]).released_labs()

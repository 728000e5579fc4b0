"""JupyterHub for a class on one machine: Unix users, their own JupyterLab each, nbgrader's exchange, the tutor.

Run it with ``sudo python3 deploy/hub/hubctl.py start`` (or ``sudo make hub``); every setting
is an environment variable declared in ``hubctl.py``'s SETTINGS. What each part does:

- the proxy is configurable-http-proxy from npm (``deploy/package.json``), the hub's API and the
  proxy's API listen on loopback only;
- users sign in with their Unix password (PAM) and must be in the students' or the instructors'
  group; each one's JupyterLab runs as that user (the local process spawner), in their home;
- students' JupyterLab has nbgrader's Assignments tab and not the instructor's tools; instructors'
  has Formgrader and works on their clone of the course (``GRADER_COURSE_ROOT``);
- everyone's nbgrader uses the class's exchange (``MSL_EXCHANGE``);
- the SocratiQ tutor keeps progress in each user's home (its default), and reaches the class's LLM,
  when the instructor names one, through the hub's ``socratiq-llm`` service: students authenticate
  with their own hub token, and only that service holds the server's key;
- JupyterLab servers idle for ``MSL_IDLE_TIMEOUT`` seconds are stopped (jupyterhub-idle-culler).
"""

import grp
import importlib.util
import os
import pwd
from pathlib import Path

from grader.layout import Course
from socratiq_ext.hub_service import configure_hub

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("hubctl", HERE / "hubctl.py")  # this folder is no package
hubctl = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hubctl)
setting = hubctl.setting

c = get_config()  # noqa: F821 -- provided by traitlets when it loads this file

PYTHON = hubctl.VENV / "bin" / "python"
STATE = Path(setting("MSL_HUB_STATE"))
HUB_PORT = int(setting("MSL_HUB_INTERNAL_PORT"))
PROXY_API_PORT, LLM_PORT = HUB_PORT + 1, HUB_PORT + 2
COURSE_ID = Course(hubctl.REPO).config().CourseDirectory.course_id

# The hub, its proxy and its state.
c.JupyterHub.bind_url = setting("MSL_HUB_URL")
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{HUB_PORT}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{PROXY_API_PORT}"
c.ConfigurableHTTPProxy.command = [str(hubctl.PROXY)]
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")

# Who may sign in: the class's two groups.
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = set(hubctl.GROUPS.values())
c.PAMAuthenticator.open_sessions = False  # no login session per server: containers and CI have no logind

# Each user's JupyterLab, as that user, with the course's environment first on PATH.
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(hubctl.VENV / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
# No news feed or update check from JupyterLab: a class's servers make no requests of their own.
c.Spawner.args = ["--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 180  # the first JupyterLab on a busy two-core machine takes a while
c.Spawner.http_timeout = 180
c.Spawner.environment = {
    "PATH": f"{hubctl.VENV / 'bin'}:/usr/local/bin:/usr/bin:/bin",
    "MSL_EXCHANGE": setting("MSL_EXCHANGE"),
    "MSL_COURSE_ID": COURSE_ID,
}


def role(username: str) -> str:
    """``instructor`` or ``student``, from the user's Unix groups (primary or not)."""
    account = pwd.getpwnam(username)
    groups = {grp.getgrgid(gid).gr_name for gid in os.getgrouplist(username, account.pw_gid)}
    return "instructor" if hubctl.GROUPS["instructor"] in groups else "student"


def role_environment(spawner) -> None:
    """Each role's Jupyter settings: nbgrader's tools and, for instructors, their clone of the course."""
    name = spawner.user.name
    who = role(name)
    spawner.environment["JUPYTER_CONFIG_PATH"] = str(HERE / "jupyter" / who)
    if who == "instructor":
        spawner.environment["GRADER_COURSE_ROOT"] = str(Path(pwd.getpwnam(name).pw_dir) / hubctl.COURSE_CLONE)


c.Spawner.pre_spawn_hook = role_environment

# Idle servers are stopped; their users' files stay.
c.JupyterHub.services = [
    {
        "name": "idle-culler",
        "command": [str(PYTHON), "-m", "jupyterhub_idle_culler", f"--timeout={setting('MSL_IDLE_TIMEOUT')}"],
    }
]
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }
]

# The tutor's class-wide LLM: the key stays with the hub's service; each student uses their own hub token.
if setting("MSL_LLM_URL"):
    configure_hub(
        c,
        upstream_url=setting("MSL_LLM_URL"),
        key_file=setting("MSL_LLM_KEY_FILE") or None,
        model=setting("MSL_LLM_MODEL") or None,
        port=LLM_PORT,
        python=PYTHON,
    )

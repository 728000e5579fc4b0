"""The class hub on Kubernetes, checked as far as this machine allows (deploy/docker/, deploy/k8s/, the nbgitpuller
link of grader/pull_link.py, the limits of bench/memory.py).

What is not run here, and why:

- The image is never built: this machine has Docker's client but no daemon, and no registry to pull
  ``python:3.11-slim`` from. The Dockerfile is parsed (dockerfile-parse) and its instructions checked; a real
  student edition is published and must hold everything the Dockerfile COPYs.
- The Helm values are not validated against the chart's JSON schema. z2jh ships ``values.schema.json`` only inside
  the chart's tarball, served from the chart repository at jupyterhub.github.io, which this machine cannot reach,
  and no PyPI or npm package carries it (kubespawner does not; there is no helm binary either). Instead the values
  are checked for the structure this course relies on, at the paths z2jh's configuration reference documents, with
  the types that schema declares for them (e.g. ``singleuser.cpu.limit`` a number, ``cull.timeout`` an integer).
"""

from __future__ import annotations

import ast
import re
import shlex
import tomllib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from dockerfile_parse import DockerfileParser
from grader_cli import run_grader
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from traitlets.config import Config

from bench.memory import SECOND_KERNEL_MIB, SERVER_MIB, STEP_MIB, recommended_limits
from grader.pull_link import pull_link

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "deploy" / "docker" / "Dockerfile"
VALUES = REPO / "deploy" / "k8s" / "values.yaml"
EXCHANGE_PVC = REPO / "deploy" / "k8s" / "exchange-pvc.yaml"
LAB_MEMORY = REPO / "deploy" / "lab_memory.toml"
EXCHANGE = "/srv/nbgrader/exchange"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
# Every instruction Docker's builder knows (dockerfile-parse reads any word as one).
INSTRUCTIONS = {
    *("FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME"),
    *("USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"),
}


# --- the image ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dockerfile() -> DockerfileParser:
    return DockerfileParser(path=str(DOCKERFILE))


def instructions(dockerfile: DockerfileParser, name: str | None = None) -> list[dict]:
    return [i for i in dockerfile.structure if i["instruction"] != "COMMENT" and name in (None, i["instruction"])]


def test_the_dockerfile_parses_into_known_instructions(dockerfile):
    found = instructions(dockerfile)
    assert found, "no instruction parsed"
    assert {i["instruction"] for i in found} <= INSTRUCTIONS
    assert found[0]["instruction"] in ("FROM", "ARG"), "a Dockerfile starts with FROM (or the ARGs FROM uses)"
    assert len(instructions(dockerfile, "FROM")) == 1, "one stage: the image students run"


def test_the_base_image_is_a_pinned_slim_python_the_project_accepts(dockerfile):
    image, _, tag = dockerfile.baseimage.partition(":")
    assert image == "python", "the official Python image"
    match = re.fullmatch(r"(3\.\d+)\.(\d+)-slim(-\w+)?", tag)
    assert match, f"{dockerfile.baseimage}: a tag that names the patch release and the slim variant, not 'latest'"
    assert match.group(1) == "3.11", "Python 3.11, the version the course is built and tested on"
    assert f"{match.group(1)}.{match.group(2)}" in SpecifierSet(PYPROJECT["project"]["requires-python"])


def test_the_jupyterhub_pin_is_the_hubs(dockerfile):
    (pin,) = [
        r for r in map(Requirement, PYPROJECT["project"]["optional-dependencies"]["hub"]) if r.name == "jupyterhub"
    ]
    assert str(pin.specifier).startswith("=="), "pyproject.toml's hub extra pins the hub's JupyterHub exactly"
    assert dockerfile.args["JUPYTERHUB_VERSION"] == str(pin.specifier).removeprefix("==")
    install = " ".join(i["value"] for i in instructions(dockerfile, "RUN"))
    assert '"jupyterhub==${JUPYTERHUB_VERSION}"' in install
    assert re.search(r'"nbgitpuller==\$\{NBGITPULLER_VERSION\}"', install) and dockerfile.args["NBGITPULLER_VERSION"]


def test_the_edition_installs_from_its_own_pyproject_not_a_retyped_list(dockerfile):
    runs = [i["value"] for i in instructions(dockerfile, "RUN")]
    assert "python run.py install" in runs, "the edition's run.py: pip install -e '.[test]', instructor tools off"
    copied = [part for i in instructions(dockerfile, "COPY") for part in shlex.split(i["value"])[:-1]]
    assert "pyproject.toml" in copied and "run.py" in copied
    names = {Requirement(d).name.lower() for d in PYPROJECT["project"]["dependencies"]}
    retyped = {name for name in names if re.search(rf"(?<![\w/-]){re.escape(name)}(?![\w-])", " ".join(runs).lower())}
    assert retyped == set(), f"the Dockerfile names the course's dependencies itself: {sorted(retyped)}"
    # What the hub adds is held to what the edition resolved: pip would stop rather than change an edition pin.
    (add,) = [r for r in runs if "jupyterhub==" in r]
    assert "pip freeze --exclude-editable > /tmp/edition-constraints.txt" in add
    assert "--constraint /tmp/edition-constraints.txt" in add and "pip check" in add


def test_the_image_runs_the_single_user_server_as_jovyan(dockerfile):
    found = instructions(dockerfile, None)
    assert found[-1]["instruction"] == "USER" and found[-1]["value"] == "1000", "ends as uid 1000, z2jh's default"
    runs = " ".join(i["value"] for i in instructions(dockerfile, "RUN"))
    (useradd,) = [i["value"] for i in instructions(dockerfile, "RUN") if i["value"].startswith("useradd")]
    assert "--uid 1000 --gid 100" in useradd and useradd.split()[-1] == "jovyan", "nbgrader knows jovyan's real name"
    assert dockerfile.cmd == '["jupyterhub-singleuser"]'
    entrypoint = [i["value"] for i in instructions(dockerfile, "ENTRYPOINT")]
    assert entrypoint == ['["tini", "--"]'], "an init that reaps the processes labs start"
    assert re.search(r"apt-get install [^&]*\bgit\b", runs), "nbgitpuller needs git"


def test_students_nbgrader_points_at_the_exchange_volume(dockerfile, monkeypatch):
    """The nbgrader config the image writes, run as nbgrader runs it: it follows MSL_EXCHANGE."""
    (write,) = [i["value"] for i in instructions(dockerfile, "RUN") if "nbgrader_config.py" in i["value"]]
    words = shlex.split(write)
    source = "\n".join(words[words.index("%s\\n") + 1 : words.index(">")])
    ast.parse(source)
    assert '"$VIRTUAL_ENV/etc/jupyter/nbgrader_config.py"' in write, "in the environment's own config path"
    for environ, root in ((None, EXCHANGE), ("/elsewhere", "/elsewhere")):
        if environ:
            monkeypatch.setenv("MSL_EXCHANGE", environ)
        else:
            monkeypatch.delenv("MSL_EXCHANGE", raising=False)
        config = Config()
        exec(compile(source, "nbgrader_config.py", "exec"), {"get_config": lambda config=config: config})
        assert config.Exchange.root == root
        assert config.CourseDirectory.course_id == "ml-systems-labs"


def test_a_published_edition_holds_everything_the_dockerfile_copies(dockerfile, tmp_path):
    edition = tmp_path / "edition"
    result = run_grader("publish", edition, timeout=600)
    assert result.returncode == 0, result.stderr
    sources = [part for i in instructions(dockerfile, "COPY") for part in shlex.split(i["value"])[:-1]]
    assert sources and not any(s.startswith("--") for s in sources), "plain COPYs from the context"
    missing = [s for s in sources if not (edition / s).exists()]
    assert missing == [], f"the Dockerfile copies what the edition lacks: {missing}"
    assert not any((edition / s).is_relative_to(edition / "solutions") for s in sources)
    assert "pyproject.toml" in sources and "[project.optional-dependencies]" in (edition / "pyproject.toml").read_text()
    # The Dockerfile-specific ignore file (BuildKit reads <Dockerfile>.dockerignore) keeps .git out.
    ignored = (DOCKERFILE.parent / "Dockerfile.dockerignore").read_text().split()
    assert ".git" in ignored and (edition / ".git").is_dir()


# --- the Helm values ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def values() -> dict:
    return yaml.safe_load(VALUES.read_text())


def at(tree: dict, path: str):
    for key in path.split("."):
        assert isinstance(tree, dict) and key in tree, f"values.yaml has no {path}"
        tree = tree[key]
    return tree


# The keys this course sets, at the paths of z2jh's configuration reference, with the types its schema declares.
Z2JH_PATHS = {
    "hub.config.Authenticator": dict,
    "singleuser.image.name": str,
    "singleuser.image.tag": str,
    "singleuser.uid": int,
    "singleuser.fsGid": int,
    "singleuser.cmd": str,
    "singleuser.defaultUrl": str,
    "singleuser.memory.limit": (str, int, float),
    "singleuser.memory.guarantee": (str, int, float),
    "singleuser.cpu.limit": (int, float),
    "singleuser.cpu.guarantee": (int, float),
    "singleuser.storage.type": str,
    "singleuser.storage.capacity": str,
    "singleuser.storage.homeMountPath": str,
    "singleuser.storage.extraVolumes": list,
    "singleuser.storage.extraVolumeMounts": list,
    "singleuser.extraEnv": dict,
    "cull.enabled": bool,
    "cull.timeout": int,
    "cull.every": int,
}
# z2jh's top-level sections and those under singleuser (its schema allows no other keys there).
Z2JH_TOP = {"hub", "proxy", "singleuser", "cull", "scheduling", "prePuller", "ingress", "custom", "debug", "rbac"}
Z2JH_SINGLEUSER = {
    *("image", "uid", "fsGid", "cmd", "defaultUrl", "memory", "cpu", "storage", "extraEnv", "extraFiles"),
    *("initContainers", "extraContainers", "profileList", "networkPolicy", "nodeSelector", "startTimeout"),
    *("extraLabels", "extraAnnotations", "lifecycleHooks", "extraPodConfig", "serviceAccountName", "events"),
}


def test_the_values_are_yaml_with_z2jh_keys_and_types(values):
    assert set(values) <= Z2JH_TOP and set(values["singleuser"]) <= Z2JH_SINGLEUSER
    for path, kind in Z2JH_PATHS.items():
        value = at(values, path)
        assert isinstance(value, kind) and not (kind in (int, float, (int, float)) and isinstance(value, bool)), path
    assert at(values, "singleuser.storage.type") in ("dynamic", "static", "none")
    assert set(at(values, "cull")) <= {"enabled", "users", "adminUsers", "removeNamedServers", "timeout", "every"}
    assert at(values, "cull.enabled") is True and 600 <= at(values, "cull.timeout") <= 4 * 3600


def test_the_authenticator_block_is_where_the_instructor_finds_it(values):
    text = VALUES.read_text()
    hub = text[text.index("\nhub:") : text.index("\nsingleuser:")]
    assert "AUTHENTICATOR: the instructor's goes here" in hub and "authenticator_class" in hub
    authenticator = at(values, "hub.config.Authenticator")
    assert authenticator == {"admin_users": [], "allowed_users": []}, "no one gets in until the instructor says who"


def test_the_user_pods_run_the_course_image_as_its_user(values, dockerfile):
    assert at(values, "singleuser.uid") == 1000 and at(values, "singleuser.fsGid") == 100
    assert at(values, "singleuser.cmd") == "jupyterhub-singleuser"
    assert at(values, "singleuser.storage.homeMountPath") == "/home/jovyan"
    assert re.fullmatch(r"\d+(\.\d+)*", at(values, "singleuser.image.tag")), "a version tag, not latest"


def test_every_user_pod_mounts_the_exchange_and_knows_where_it_is(values):
    (volume,) = at(values, "singleuser.storage.extraVolumes")
    (mount,) = at(values, "singleuser.storage.extraVolumeMounts")
    assert mount == {"name": volume["name"], "mountPath": EXCHANGE}
    assert at(values, "singleuser.extraEnv") == {"MSL_EXCHANGE": EXCHANGE}
    claim, job = list(yaml.safe_load_all(EXCHANGE_PVC.read_text()))
    assert claim["kind"] == "PersistentVolumeClaim" and claim["apiVersion"] == "v1"
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"], "every user pod, on any node, mounts it"
    assert re.fullmatch(r"\d+[GT]i", claim["spec"]["resources"]["requests"]["storage"])
    # The one-off Job that makes the fresh volume nbgrader's: writable by all, sticky, set by root.
    pod = job["spec"]["template"]["spec"]
    assert job["kind"] == "Job" and pod["securityContext"]["runAsUser"] == 0
    (container,) = pod["containers"]
    assert container["command"] == ["chmod", "1777", EXCHANGE]
    assert container["volumeMounts"] == [{"name": pod["volumes"][0]["name"], "mountPath": EXCHANGE}]
    assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    image = at(values, "singleuser.image")
    assert container["image"] == f"{image['name']}:{image['tag']}", "the course's image, already on the nodes"


def test_the_limits_are_the_ones_derived_from_the_measured_peaks(values):
    measured = tomllib.loads(LAB_MEMORY.read_text())
    labs = sorted(p.parent.name for p in (REPO / "solutions").glob("*/*.ipynb") if p.stem == p.parent.name)
    assert sorted(measured["labs"]) == labs, "every lab measured: run `.venv/bin/python -m bench.memory`"
    for lab, entry in measured["labs"].items():
        assert entry["method"] in ("cgroup-v1", "cgroup-v2", "rss-sampled"), lab
        assert entry["peak_mib"] == max(entry.get("cgroup_peak_mib", 0.0), entry["rss_sampled_mib"]), lab
    expected = recommended_limits({lab: entry["peak_mib"] for lab, entry in measured["labs"].items()})
    assert at(values, "singleuser.memory") == expected["memory"]
    assert at(values, "singleuser.cpu") == expected["cpu"]
    assert "python -m bench.memory" in LAB_MEMORY.read_text().split("\n\n")[0], "the header names its command"


def test_the_limit_rule():
    peaks = {"a": 700.0, "b": 800.0, "c": 1000.0}
    limits = recommended_limits(peaks)
    limit, guarantee = (int(limits["memory"][k].removesuffix("M")) for k in ("limit", "guarantee"))
    assert limit % STEP_MIB == 0 and guarantee % STEP_MIB == 0
    assert 1000 + SECOND_KERNEL_MIB + SERVER_MIB <= limit < 1000 + SECOND_KERNEL_MIB + SERVER_MIB + STEP_MIB
    assert 800 + SERVER_MIB <= guarantee < 800 + SERVER_MIB + STEP_MIB, "the median lab, with the server"
    assert guarantee <= limit
    steps = 1 + (SECOND_KERNEL_MIB + SERVER_MIB) // STEP_MIB + 1
    exact = recommended_limits({"a": steps * STEP_MIB - SECOND_KERNEL_MIB - SERVER_MIB})
    assert exact["memory"]["limit"] == f"{steps * STEP_MIB}M", "rounded up, never past an exact step"
    for bad in ({}, {"a": 0.0}, {"a": float("nan")}, {"a": "800"}):
        with pytest.raises(ValueError):
            recommended_limits(bad)


# --- nbgitpuller links -------------------------------------------------------------------------------------

HUB = "https://hub.example.edu"
REPO_URL = "https://git.example.edu/course/ml-systems-labs.git"


def test_a_pull_link_carries_every_parameter_nbgitpuller_reads():
    link = pull_link(HUB, REPO_URL, "lab04_deploy")
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "hub.example.edu", "/hub/user-redirect/git-pull")
    query = parse_qs(parts.query, strict_parsing=True)
    assert query == {
        "repo": [REPO_URL],
        "branch": ["main"],
        "urlpath": ["lab/tree/ml-systems-labs/labs/lab04_deploy/lab04_deploy.ipynb"],
    }
    assert "/" not in parts.query and " " not in link, "every value percent-encoded"


def test_the_link_keeps_a_hubs_prefix_a_branch_and_a_repository_without_git():
    link = pull_link("http://hub.example.edu:8000/course/", "https://host/group/labs-2026/", "lab01_data", "fall-2026")
    parts = urlsplit(link)
    assert parts.path == "/course/hub/user-redirect/git-pull" and parts.port == 8000
    query = parse_qs(parts.query)
    assert query["branch"] == ["fall-2026"] and query["repo"] == ["https://host/group/labs-2026/"]
    assert query["urlpath"] == ["lab/tree/labs-2026/labs/lab01_data/lab01_data.ipynb"]


def test_a_repository_url_with_a_query_character_survives_the_round_trip():
    repo = "https://host/a b/x&y=z.git"
    query = parse_qs(urlsplit(pull_link(HUB, repo, "lab02_model", labs=["lab02_model"])).query)
    assert query["repo"] == [repo] and query["urlpath"] == ["lab/tree/x&y=z/labs/lab02_model/lab02_model.ipynb"]


def test_the_default_labs_are_the_released_ones():
    for lab in sorted(p.name for p in (REPO / "labs").iterdir() if p.is_dir()):
        assert lab in pull_link(HUB, REPO_URL, lab)


@pytest.mark.parametrize(
    ("hub", "repo", "lab", "branch", "message"),
    [
        (HUB, REPO_URL, "lab99_nope", "main", "unknown lab 'lab99_nope'"),
        (HUB, REPO_URL, "", "main", "unknown lab ''"),
        ("hub.example.edu", REPO_URL, "lab01_data", "main", "hub URL must be an http:// or https://"),
        ("ftp://hub.example.edu", REPO_URL, "lab01_data", "main", "hub URL must be an http:// or https://"),
        (HUB + "/?next=x", REPO_URL, "lab01_data", "main", "without ?query"),
        (HUB, "git@github.com:course/labs.git", "lab01_data", "main", "without SSH keys"),
        (HUB, "file:///srv/labs.git", "lab01_data", "main", "repository URL must be an http:// or https://"),
        (HUB, "https://host/", "lab01_data", "main", "names no repository"),
        (HUB, "https://", "lab01_data", "main", "repository URL must be an http:// or https://"),
        (HUB, REPO_URL, "lab01_data", "", "not a branch name"),
        (HUB, REPO_URL, "lab01_data", "-x", "not a branch name"),
        (HUB, REPO_URL, "lab01_data", "a b", "not a branch name"),
        (HUB, REPO_URL, "lab01_data", "a..b", "not a branch name"),
        (None, REPO_URL, "lab01_data", "main", "hub_url must be a string"),
    ],
)
def test_bad_input_is_a_clear_value_error(hub, repo, lab, branch, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        pull_link(hub, repo, lab, branch)

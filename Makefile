# Two commands for a fresh machine: `make lab` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Jupyter refuses to run as root (containers, CI) unless told it may.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)
STAMP  := $(VENV)/.installed
LAB_DIR ?= labs

.PHONY: lab test release check clean system-packages

lab: $(STAMP)  ## Open JupyterLab on the student notebooks.
	$(BIN)/jupyter lab --ServerApp.root_dir=$(LAB_DIR) $(ROOT_FLAG) $(LAB_ARGS)

test: $(STAMP) system-packages  ## The whole suite: course library, lab pipeline, nbval, real nbgrader grading.
	$(BIN)/python -m pytest

# Debian packages the suite needs beside Python's: bubblewrap (the grader's sandbox) and
# chromium (the browser tests drive it with Playwright; `playwright install` cannot download here).
system-packages:
	@command -v bwrap >/dev/null && command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -q bubblewrap chromium || { apt-get update -q && apt-get install -y -q bubblewrap chromium; }; \
	  else echo "make test needs bubblewrap and chromium: sudo apt-get install bubblewrap chromium"; exit 1; fi; }

release: $(STAMP)  ## Regenerate labs/ from solutions/ (instructors).
	$(BIN)/python -m grader release

check: $(STAMP)  ## Fail if labs/ differs from what release would write.
	$(BIN)/python -m grader check

# (Re)install whenever the one list of dependencies changes.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 10) <= v <= (3, 12) else "Python 3.10-3.12 is needed, found %d.%d: run make PYTHON=python3.11" % v)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --editable '.[test]'
	touch $@

clean:  ## Remove the environment and caches (never labs/ or solutions/).
	rm -rf $(VENV) .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# Two commands for a fresh machine: `make lab` and `make test` (see README.md). Both run `run.py`, which is
# what a machine without make runs directly (`python run.py lab`): one implementation of the steps.
PYTHON ?= python3
LAB_DIR ?= labs

.PHONY: lab test install release check clean hub

lab:  ## Open JupyterLab on the student notebooks.
	LAB_DIR=$(LAB_DIR) $(PYTHON) run.py lab $(LAB_ARGS)

test:  ## The whole suite: course library, lab pipeline, nbval, real nbgrader grading.
	$(PYTHON) run.py test

install:  ## Create .venv and install the project (when pyproject.toml changed).
	$(PYTHON) run.py install

release: install  ## Regenerate labs/ and course/fingerprints/ from solutions/ (instructors).
	.venv/bin/python -m grader release

check: install  ## Fail if labs/ or course/fingerprints/ differ from what release would write.
	.venv/bin/python -m grader check

hub:  ## The class's JupyterHub on this machine, as root: install it, then start it (deploy/README.md).
	$(PYTHON) deploy/hub/hubctl.py install
	$(PYTHON) deploy/hub/hubctl.py start

clean:  ## Remove the environment and caches (never labs/ or solutions/).
	rm -rf .venv .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# nbgrader reads nbgrader_config.py from the folder it runs in: run nbgrader from
# the repository root and it uses the course's configuration in grader/.
load_subconfig("grader/nbgrader_config.py")  # noqa: F821 -- provided by traitlets

"""SocratiQ, the course's AI tutor (an IPython extension with an ipywidgets panel).

The tutor itself is built in its own issue; this package is reserved for it
so that the project installs as one unit.
"""

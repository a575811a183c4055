"""Lets `pytest --nbval solutions/` and `pytest --nbval-lax labs/` run as typed from here:
see tests/nbval_plugin.py. Plain `pytest` runs tests/ (pyproject's testpaths) as before."""
pytest_plugins = ["tests.nbval_plugin"]

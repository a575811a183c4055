# Two commands do all set-up: `make lab` starts the workshop, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.gluelab-installed
LAB_ARGS ?=
TEST_ARGS ?=

.PHONY: lab test notebooks bench cloud-stop clean lock

$(STAMP): pyproject.toml requirements.lock scripts/bootstrap.py
	$(PYTHON) scripts/bootstrap.py $(VENV)
	@touch $(STAMP)

lab: $(STAMP)
	$(BIN)/gluelab lab $(LAB_ARGS)

# Tests run in up to four processes: most of their time is waiting on notebooks and the cloud.
# Each process takes the next test when it is nearly done, longest first (tests/conftest.py:
# LONGEST_FIRST), so that no process ends the run alone on a long test.
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --maxprocesses=4 --dist loadgroup --no-loadscope-reorder $(TEST_ARGS)

notebooks: $(STAMP)
	$(BIN)/gluelab notebooks build

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

cloud-stop: $(STAMP)
	$(BIN)/gluelab cloud stop

# After changing pyproject.toml's dependencies: re-resolve requirements.lock, then reinstall.
lock:
	$(PYTHON) scripts/lock.py $(VENV)
	$(MAKE) $(STAMP)

# Your project in workspace/ is your work: clean leaves it, and says so.
clean:
	rm -rf $(VENV) .gluelab
	@echo "Kept workspace/, your project: delete it yourself to start it over."

# Two entry points: `make demo` and `make test`. Both create .venv and install the
# package with every extra; a second run skips the install unless pyproject.toml changed.
# `make test-fast` skips the slow tier (end-to-end runs); both run the docstring examples.
# Tests run in JOBS pytest-xdist worker processes (each fits its own small test zoos).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
JOBS ?= 2

.PHONY: demo test test-fast install clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first: pip takes this CPU build from the machine's disk. A torch that pip
	# resolves on its own would pull a multi-GB CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[all,test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m explain demo --out reports

test: $(STAMP)
	$(PY) -m pytest -q -n $(JOBS)

test-fast: $(STAMP)
	$(PY) -m pytest -q -n $(JOBS) -m "not slow"

clean:
	rm -rf $(VENV)

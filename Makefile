# Two commands for a new user: `make demo` and `make test`. Both create .venv and install the
# pinned dependencies of requirements.lock (regenerate it with `make lock`).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
UV     := $(VENV)/bin/uv
UV_VERSION := 0.13.8

.PHONY: install demo test bench lock clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) pip install -q --python $(PY) -r requirements.lock
	$(UV) pip install -q --python $(PY) --no-deps -e .
	touch $@

demo: install
	$(VENV)/bin/provenance -w workspace demo

test: install
	$(PY) -m pytest -q -p no:cacheprovider

bench: install
	for b in bench/*_bench.py; do echo "== $$b"; $(PY) $$b || exit 1; done

lock:
	$(UV) pip compile pyproject.toml --extra dev --extra distributed -q -o requirements.lock --python-version 3.11

clean:
	rm -rf $(VENV) workspace

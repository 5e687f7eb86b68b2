# Two commands for a new user: `make demo` and `make test`. Both create .venv and install pinned
# dependencies: `make demo` the runtime ones (requirements.lock), `make test` and `make check` also
# the development ones (requirements-dev.lock: tests, lint, types, Ray). `make lock` regenerates both.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
UV     := $(VENV)/bin/uv
UV_VERSION := 0.13.8
PACKAGES := crawl transcribe dedup provenance

.PHONY: install install-dev demo test check lint types bench lock clean

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

$(VENV)/bin/uv:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)

# --compile-bytecode: as pip does by default, so every `provenance` process (and each test's
# subprocess) starts from bytecode even where PYTHONDONTWRITEBYTECODE is set.
$(VENV)/.installed: requirements.lock pyproject.toml $(VENV)/bin/uv
	$(UV) pip install -q --compile-bytecode --python $(PY) -r requirements.lock
	$(UV) pip install -q --python $(PY) --no-deps -e .
	touch $@

$(VENV)/.installed-dev: requirements-dev.lock pyproject.toml $(VENV)/.installed
	$(UV) pip install -q --compile-bytecode --python $(PY) -r requirements-dev.lock
	touch $@

demo: install
	$(VENV)/bin/provenance -w workspace demo

test: install-dev
	$(PY) -m pytest -q -p no:cacheprovider

# lint, types and the fast tests (everything not marked slow or ray; tests/conftest.py marks the slow modules)
check: install-dev lint types
	$(PY) -m pytest -q -p no:cacheprovider -m "not slow and not ray" -x

lint: install-dev
	$(VENV)/bin/ruff check $(PACKAGES) tests bench

types: install-dev
	$(VENV)/bin/mypy $(PACKAGES)

bench: install-dev
	for b in bench/*_bench.py; do echo "== $$b"; $(PY) $$b || exit 1; done

lock: $(VENV)/bin/uv
	$(UV) pip compile pyproject.toml -q -o requirements.lock --python-version 3.11
	$(UV) pip compile pyproject.toml --extra dev --extra distributed -q -o requirements-dev.lock --python-version 3.11

clean:
	rm -rf $(VENV) workspace

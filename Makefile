# Two entry points (see README): `make all` builds the course, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: all test venv system-deps grading-deps vendor downloads book exercises grade-demo gpu-check bench bench-build bench-demos bench-autograde bench-grading clean

all: book exercises grade-demo

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip check
	touch $(STAMP)

venv: $(STAMP)

# Debian packages the tests need: a real browser for the site tests, bubblewrap for the sandbox, the
# PostgreSQL server for the gradebook test (tests/pg_server.py starts it from /usr/lib/postgresql/*/bin).
# Then a check that Playwright (from requirements.txt) drives that chromium, as tests/conftest.py does.
system-deps: venv
	@(command -v chromium && command -v bwrap && ls /usr/lib/postgresql/*/bin/initdb) >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium bubblewrap postgresql)
	@$(PY) -c "from playwright.sync_api import sync_playwright as p; \
	  c = p().start(); b = c.chromium.launch(executable_path='/usr/bin/chromium', args=['--no-sandbox', '--disable-gpu']); \
	  print('playwright drives chromium', b.version); b.close(); c.stop()"

# What a grading host needs, without the browser and the database server of the tests: the venv and
# bubblewrap (util-linux, for unshare/setpriv/prlimit, is in every Debian base system).
grading-deps: venv
	@command -v bwrap >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap)
	$(PY) -c "from autograder.grading.sandbox import check_sandbox; print(check_sandbox())"

# MathJax, require.js and the widget manager, served by the site itself (no CDN).
# npm runs only when node_modules is missing or older than package*.json. The files go to
# _build/site_assets (html_extra_path in _config.yml, so they land in _build/html/vendor/); the folder is
# filled under a temporary name and renamed, so its require.js exists only once the copy is complete.
SITE_ASSETS := _build/site_assets
NPM_STAMP := node_modules/.npm-ci-done
WIDGETS_DIST := node_modules/@jupyter-widgets/html-manager/dist

vendor: $(SITE_ASSETS)/vendor/require.js

$(NPM_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

$(SITE_ASSETS)/vendor/require.js: $(NPM_STAMP)
	rm -rf $(SITE_ASSETS).tmp
	mkdir -p $(SITE_ASSETS).tmp/vendor/html-manager
	cp -R node_modules/mathjax/es5 $(SITE_ASSETS).tmp/vendor/mathjax
	cp $(WIDGETS_DIST)/embed-amd.js $(WIDGETS_DIST)/*.woff* $(WIDGETS_DIST)/*.ttf $(WIDGETS_DIST)/*.eot \
	   $(WIDGETS_DIST)/*.svg $(SITE_ASSETS).tmp/vendor/html-manager/
	cp node_modules/requirejs/require.js $(SITE_ASSETS).tmp/vendor/require.js
	rm -rf $(SITE_ASSETS)
	mv $(SITE_ASSETS).tmp $(SITE_ASSETS)

# The execution cache keys on each page's own code, not on the rnn_demos package it imports nor on the
# exercise notebooks some pages read (points, signatures): when either changes, drop the cached executions,
# the cached training runs and Sphinx's record of read pages (else it would not read them again), so no page
# shows stale output.
PACKAGE_HASH := _build/.rnn_demos.sha256

# What the site offers students for download (_config.yml html_extra_path -> _build/html/downloads/): a wheel
# of the code the exercise notebooks import (no instructor-side grading code) and the notebooks themselves.
SITE_DOWNLOADS := _build/site_downloads/downloads

downloads: _build/site_downloads.built

_build/site_downloads.built: $(STAMP) _ext/student_package.py pyproject.toml requirements.txt \
		$(wildcard rnn_demos/*.py autograder/*.py exercises/*/*.ipynb)
	$(PY) _ext/student_package.py $(SITE_DOWNLOADS)
	touch $@

book: venv vendor downloads
	@mkdir -p _build && cat rnn_demos/*.py exercises/*/*.ipynb | sha256sum > $(PACKAGE_HASH).new
	@cmp -s $(PACKAGE_HASH).new $(PACKAGE_HASH) || (echo "rnn_demos or an exercise changed: re-executing every page"; \
	  rm -rf _build/.doctrees _build/.jupyter_cache _build/cache)
	@mv $(PACKAGE_HASH).new $(PACKAGE_HASH)
	$(VENV)/bin/jupyter-book build -W -n --keep-going .

exercises: venv
	$(PY) -m autograder.nbgrader.generate

grade-demo: venv grading-deps
	$(PY) -m autograder.grading.demo

test: venv system-deps book
	$(PY) -m pytest -q

gpu-check: venv
	$(PY) -m autograder.gpu_check

bench: bench-build bench-demos bench-autograde bench-grading

bench-build: venv vendor
	$(PY) benchmarks/bench_build.py

bench-demos: venv
	$(PY) benchmarks/bench_demo_update.py

bench-autograde: venv
	$(PY) benchmarks/bench_autograde.py

bench-grading: venv system-deps
	$(PY) benchmarks/bench_grading.py

clean:
	rm -rf _build

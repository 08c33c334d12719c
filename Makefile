# The two commands: `make run` serves the app, `make test` runs the suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed
DEMO_LIKES := instance/data/demo_likes.psv
DEMO_MODEL := instance/models/active.npz
DEMO_SEARCH := instance/demo_search.json
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test demo chromium bench clean

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

$(DEMO_LIKES): | $(STAMP)
	$(PY) -m training demo --out $(DEMO_LIKES)

# The demo model is built only when no model is configured and none exists yet:
# a learning curve at the seed's best parameters (so the model comes with test
# p@k and the popularity baseline), then a fit on all likes.
$(DEMO_MODEL): | $(DEMO_LIKES)
	$(PY) -m training search $(DEMO_LIKES) --out $(DEMO_SEARCH) --factors 40 --regularization 0.1 --alpha 50 --epochs 2:24:2 > /dev/null
	$(PY) -m training fit $(DEMO_LIKES) --out $(DEMO_MODEL) --from-search $(DEMO_SEARCH)

demo: $(STAMP)
	@if [ -z "$$SKETCHREC_MODEL_PATH" ]; then $(MAKE) --no-print-directory $(DEMO_MODEL); fi

run: demo
	$(VENV)/bin/flask --app webapp run --host $(HOST) --port $(PORT)

# Debian's chromium for the browser tests (Playwright cannot download its own here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing and not root: browser tests will be skipped (failed under CI=true)"; fi; }

test: $(STAMP) chromium
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m pip install --quiet -r bench/requirements.txt
	$(PY) bench/prepare.py

clean:
	rm -rf $(VENV)

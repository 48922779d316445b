# Thin wrappers over the shopcx command and pytest. `make demo` and `make test`
# work on a fresh machine with only Python 3.11: they create .venv first.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

DEMO_DATA := outputs/demo-data

.PHONY: help install demo demo-data weekly test lint bench bench-voc battery models clean

help:
	@echo "make demo   set up, generate demo data if absent, run every readout for every demo market"
	@echo "make weekly the weekly review: last 8 weeks x every demo market, summaries and trends"
	@echo "make test   set up, run the linters and the test suite"
	@echo "make lint   ruff and the import contract of the wings (lint-imports)"
	@echo "make bench  benchmarks (generates 1M and 10M-order datasets; writes outputs/bench/results.json)"
	@echo "make bench-voc  VOC quality on the real texts of ../shared/corpora and tagging speed"
	@echo "make battery  root cause on planted causes: hit rates over 20 seeds per case (~20 min)"
	@echo "make models  retrain the shipped sentiment models (needs ../shared/corpora)"
	@echo "make clean  remove .venv and outputs/"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,spark,bench]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

$(DEMO_DATA)/demo_manifest.json: | $(STAMP)
	$(BIN)/shopcx demo-data --out $(DEMO_DATA)

demo-data: $(DEMO_DATA)/demo_manifest.json

demo: $(STAMP) demo-data
	$(BIN)/shopcx run params/demo.yaml

weekly: $(STAMP) demo-data
	$(BIN)/shopcx run params/weekly.yaml

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

test: lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/bench.py

bench-voc: $(STAMP)
	$(BIN)/python bench/bench_voc.py

battery: $(STAMP)
	$(BIN)/python bench/battery.py --seeds 20 --jobs 2

models: $(STAMP)
	$(BIN)/python bench/train_models.py

clean:
	rm -rf $(VENV) outputs/*/ .pytest_cache .ruff_cache

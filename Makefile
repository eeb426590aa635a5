# One-command set-up, training and tests. Every target installs what it needs first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SHARED_DATA := $(abspath ../shared/data)
# Real data for training and tests: ../shared/data when it exists, unless MODULI_DATA_DIR is set.
export MODULI_DATA_DIR ?= $(if $(wildcard $(SHARED_DATA)),$(SHARED_DATA),)
export WANDB_MODE ?= offline

.PHONY: install train test test-all docs benchmark clean

install: $(STAMP)

# torch first, pinned, so no dependency can pull a CUDA build; matbench 0.6 pins ancient
# packages, so it goes in without its dependencies.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test,docs]'
	$(PY) -m pip install --quiet --no-deps matbench==0.6
	touch $(STAMP)

# Train CGCNN on the real MP elastic data (shear modulus); pass ARGS for Hydra overrides, e.g.
#   make train ARGS="data.target=log10_k_vrh trainer.max_epochs=50"
train: install
	$(PY) train.py $(ARGS)

# Fast suite (~16 min on 2 cores; the goal is ~10); `make test-all` includes tests marked slow.
test: install
	$(PY) -m pytest -m "not slow" $(ARGS)

# The docs site into site/ (strict: a broken link fails); `mkdocs serve` to read it while editing.
docs: install
	$(PY) -m mkdocs build --strict

test-all: install
	$(PY) -m pytest $(ARGS)

benchmark: install
	$(PY) benchmarks/featurize.py
	$(PY) benchmarks/predict.py
	$(PY) benchmarks/report.py

clean:
	rm -rf $(VENV) logs .pytest_cache

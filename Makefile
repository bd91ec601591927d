# The project's commands. `make help` lists them.
SHELL := /bin/bash
NP ?= 4
MODEL ?= check
PYTEST_ARGS ?=
ENV := source launch/env.sh &&

.PHONY: help setup train test lint clean-venv

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup:  ## create .venv with torch, Open MPI, Horovod (built from source), PyG, energyflow, Pythia
	bash launch/setup.sh

train: setup  ## the main job: horovodrun -np $(NP) python -m distributed.train $(MODEL)
	$(ENV) horovodrun -np $(NP) -H localhost:$(NP) python -m distributed.train $(MODEL)

test: setup  ## the test suite (set-up included); CI runs exactly this
	$(ENV) python -m pytest $(PYTEST_ARGS)

lint:  ## ruff lint + format check
	$(ENV) ruff check . && ruff format --check .

clean-venv:  ## remove the virtual environment (the next command rebuilds it)
	rm -rf .venv

# The project's commands. `make help` lists them.
SHELL := /bin/bash
NP ?= 4
MODEL ?= gvae
PYTEST_ARGS ?=
# Test processes (pytest-xdist workers): most tests run one single-threaded process at a time,
# so two workers keep 2 cores busy. Each test file runs on one worker (--dist loadfile): its
# module fixtures are built once, and tests that share a fixed resource (the two-node test's
# network namespaces) never run at the same time.
TEST_WORKERS ?= 2
PYTEST := python -m pytest -n $(TEST_WORKERS) --dist loadfile
ENV := source launch/env.sh &&

JETS ?= 50000
CALO_EVENTS ?= 5000
JET_FILES := data/jets/g.hdf5 data/jets/q.hdf5 data/jets/t.hdf5
CALO_FILE := data/calorimeter/top.h5

FASHION_MNIST := /usr/share/datasets/fashion-mnist

.PHONY: help env setup train test test-fast lint data images clean-venv

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

env:  ## create .venv with torch, Open MPI, Horovod (built from source), PyG, energyflow, Pythia
	bash launch/setup.sh

setup: env data images  ## env + the default data sets (what a fresh checkout needs before `make train`)

train: env data  ## the main job: horovodrun -np $(NP) python -m distributed.train $(MODEL)
	$(ENV) horovodrun -np $(NP) -H localhost:$(NP) python -m distributed.train $(MODEL)

test: env images  ## the test suite (set-up included); CI runs exactly this
	$(ENV) $(PYTEST) $(PYTEST_ARGS)

test-fast: env  ## the tests that launch no process (≈ 1 min): the developer's loop
	$(ENV) $(PYTEST) -m "not slow" $(PYTEST_ARGS)

data: $(JET_FILES) $(CALO_FILE)  ## generate the default samples into data/ (Pythia 8; cached, seeded)

data/jets/%.hdf5: | env
	$(ENV) python -m events.generate jets --jet-type $* -n $(JETS) --out $@

$(CALO_FILE): | env
	$(ENV) python -m events.generate calorimeter --jet-type t -n $(CALO_EVENTS) --seed 2 --out $@

images:  ## Fashion-MNIST for the graph GAN (Debian's dataset-fashion-mnist, by apt as root or sudo)
	@test -d $(FASHION_MNIST) || { \
	  if [ "$$(id -u)" = 0 ]; then run=; elif sudo -n true 2>/dev/null; then run="sudo -n"; else \
	    echo "make images: apt-get install dataset-fashion-mnist needs root or sudo (or train graphgan with --images DIR of MNIST-format files)" >&2; exit 1; fi; \
	  command -v apt-get >/dev/null || { echo "make images: no apt-get here; train graphgan with --images DIR of MNIST-format files" >&2; exit 1; }; \
	  $$run apt-get install -y -q dataset-fashion-mnist || { $$run apt-get update -q && $$run apt-get install -y -q dataset-fashion-mnist; }; }

lint:  ## ruff lint + format check
	$(ENV) ruff check . && ruff format --check .

clean-venv:  ## remove the virtual environment (the next command rebuilds it)
	rm -rf .venv

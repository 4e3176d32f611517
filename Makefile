# Two entry points, both bootstrap .venv from nothing and are idempotent.
#   make run   - default joint search on the bundled digits data set
#   make test  - the test suite (slow tests excluded; `make test-slow` runs them)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-slow clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned, so pip takes the CPU wheel on disk instead of a CUDA build.
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[all,dev]"
	touch $(STAMP)

# Until the joint search lands (issue 6): the spaces, a sampled network, and its cost on two accelerators.
run: $(STAMP)
	$(BIN)/codesign space describe
	$(BIN)/codesign arch sample --seed 0 | tee .run_arch.txt
	$(BIN)/codesign evaluate "$$(tail -1 .run_arch.txt)" --hw eyeriss_like | tail -3
	$(BIN)/codesign evaluate "$$(tail -1 .run_arch.txt)" --hw simba_like | tail -3
	$(BIN)/codesign measure "$$(tail -1 .run_arch.txt)" --runtime ort
	rm -f .run_arch.txt

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

clean:
	rm -rf $(VENV) build *.egg-info

# Two entry points, both bootstrap .venv from nothing and are idempotent.
#   make run   - default joint search on the bundled digits data set
#   make test  - ruff, then the test suite (slow tests excluded; `make test-slow` runs them)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-slow clean chromium postgresql

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned, so pip takes the CPU wheel on disk instead of a CUDA build.
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[all,dev]"
	touch $(STAMP)

# The default joint search on bundled digits (examples/quickstart.yaml) into runs/quickstart;
# a second `make run` resumes it (finished trials are kept, nothing is evaluated twice).
RUN_DIR ?= runs/quickstart
run: $(STAMP)
	if [ -f $(RUN_DIR)/config.yaml ]; then \
	  $(BIN)/codesign search examples/quickstart.yaml --resume $(RUN_DIR); \
	else \
	  $(BIN)/codesign search examples/quickstart.yaml --out $(RUN_DIR); \
	fi
	$(BIN)/codesign report $(RUN_DIR)
	@echo "run directory: $(RUN_DIR) (report.html, PNGs, config.yaml, study.db, trials.csv, front.csv, summary.json)"

# The report's render test needs headless Chromium: Debian's `chromium`, installed here when it is
# missing and apt can run (as root); otherwise that one test is skipped with a message saying so.
chromium:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; }; }; } || \
	  echo "note: Chromium is not installed and could not be; the report render test will be skipped"

# The shared-store tests start a throw-away PostgreSQL server on loopback: Debian's `postgresql`,
# installed here when it is missing and apt can run (as root); otherwise those tests are skipped.
postgresql:
	@{ command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null 2>&1; }; }; } || \
	  echo "note: PostgreSQL is not installed and could not be; the shared-store tests will be skipped"

test: $(STAMP) chromium postgresql
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q --durations=15

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

clean:
	rm -rf $(VENV) build *.egg-info

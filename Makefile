# vhod — two commands: `make run` and `make test`. Everything else is set up by them.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed

AXE    := tests/e2e/axe/node_modules/axe-core/axe.min.js

.PHONY: run test lint types imports unit bench clean axe

$(STAMP): pyproject.toml providers/upstream/esia/_streebog.c providers/upstream/esia/_gost_ec.h
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/vhod dev

test: $(STAMP) lint types imports unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

unit: $(STAMP) axe
	$(BIN)/pytest $(PYTEST_ARGS)

# axe-core for the browser tests' accessibility checks, pinned in tests/e2e/axe's
# package-lock.json. Without npm: a note here, and the axe check skips (fails under CI=true).
axe: $(AXE)
$(AXE): tests/e2e/axe/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  cd tests/e2e/axe && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/axe-core/axe.min.js; \
	elif [ "$$CI" = "true" ]; then echo "npm is missing: the browser tests need axe-core (apt install npm)"; exit 1; \
	else echo "npm is missing: the browser tests run without axe-core (apt install npm)"; fi

bench: $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache tests/e2e/axe/node_modules

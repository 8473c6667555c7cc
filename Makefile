# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: demo test test-fast bench clean

$(BIN)/cchc: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(BIN)/cchc

demo: $(BIN)/cchc
	PATH="$(CURDIR)/$(BIN):$$PATH" bash samples/run_quarter.sh samples out

test: $(BIN)/cchc
	$(BIN)/python -m pytest -q

# Everything but the LibreOffice tests (marked `libreoffice`): a minute instead of several.
test-fast: $(BIN)/cchc
	$(BIN)/python -m pytest -q -m "not libreoffice"

bench: $(BIN)/cchc
	$(BIN)/python benchmarks/bench_template.py
	$(BIN)/python benchmarks/bench_check.py --n 1000
	$(BIN)/python benchmarks/bench_aggregate.py
	$(BIN)/python benchmarks/bench_limits.py
	$(BIN)/python benchmarks/bench_speed.py --sizes 1000
	$(BIN)/python benchmarks/bench_web.py

clean:
	rm -rf $(VENV) out

# Two commands on a fresh machine (Python 3.11+ and make):
#   make run    set up, write the sample period and run the pipeline on it (validate, consolidate, publish)
#   make test   set up and run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PERIOD ?= 2022

.PHONY: setup run test bench docs clean

$(BIN)/rekap: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $@

# rekap's own bytecode, written here: every command then starts without compiling rekap (Python would write
# it on first import, but not where PYTHONDONTWRITEBYTECODE is set, as on many CI machines)
setup: $(BIN)/rekap
	@$(BIN)/python -m compileall -q pipeline

# rekap run exits 1 when a submission is rejected: the sample has some on purpose.
run: setup
	$(BIN)/rekap sample --period $(PERIOD) --raw raw --manifest raw/$(PERIOD)-manifest.json \
	  --staff --staff-manifest raw/$(PERIOD)-staff-manifest.json
	$(BIN)/rekap run --period $(PERIOD); status=$$?; [ $$status -le 1 ] || exit $$status

# the suite on every core; idle workers take queued tests from busy ones (the slow end-to-end tests vary)
test: setup
	$(BIN)/python -m pytest -n auto --dist worksteal

bench: setup
	$(BIN)/python bench/national.py --sizes 340
	$(BIN)/python bench/validate.py
	$(BIN)/python bench/workbooks.py
	$(BIN)/python bench/publish.py
	$(BIN)/python bench/catalog.py
	$(BIN)/python bench/dashboard.py
	$(BIN)/python bench/quality.py
	$(BIN)/python bench/staff.py
	$(BIN)/python bench/sniff.py
	$(BIN)/python bench/check.py

docs: setup
	$(BIN)/python -m pipeline.docs

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

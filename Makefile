# sockdoctor: `make demo` shows the main job, `make test` runs everything (installing what it needs).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test venv system-deps bench fuzz web clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/sockdoctor diagnose examples/seed-incident/ || test $$? -eq 1

system-deps:
	bash scripts/install-system-deps.sh

# Bytecode as an installed copy has it (pip compiles on install): the suite starts the CLI
# hundreds of times, and an editable checkout under PYTHONDONTWRITEBYTECODE would recompile each time.
test: $(STAMP) system-deps
	$(BIN)/python -m compileall -q src/sockdoctor
	$(BIN)/python -m pytest -q -ra

bench: $(STAMP)
	$(BIN)/python -m compileall -q src/sockdoctor
	$(BIN)/python bench/run.py

# Coverage-guided fuzzing (atheris, the `fuzz` extra) of the nginx parser and the paste splitter;
# crashes land in build/fuzz/crashes/ and become tests/test_fuzz_regressions.py cases.
FUZZ_SECONDS ?= 60
fuzz: $(STAMP)
	$(BIN)/pip install -q -e '.[fuzz]'
	FUZZ_SECONDS=$(FUZZ_SECONDS) $(BIN)/python fuzz/fuzz_parse.py
	FUZZ_SECONDS=$(FUZZ_SECONDS) $(BIN)/python fuzz/fuzz_split.py

# The zero-backend page: pinned Pyodide from npm + the project's wheel + pure-Python PyYAML.
web: $(STAMP)
	cd web && npm ci --ignore-scripts --no-audit --no-fund
	$(BIN)/python web/build.py

clean:
	rm -rf $(VENV) build dist web/dist

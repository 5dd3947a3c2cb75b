# Vitrina: `make demo` and `make test` each do the whole setup first, so either works alone on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEMO ?= exhibits/bronze-age
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup demo test bench lint clean mutants mutants-sample

# Bytecode up front, as pip does for an installed package: with PYTHONDONTWRITEBYTECODE set (as on CI machines)
# every command otherwise recompiles the sources it imports, 0.15-0.35 s of each warm build.
# The page templates likewise (pipeline.site.compile_templates): 50 ms of every build otherwise.
setup: $(VENV)/.installed node_modules/.installed
	$(PY) -m compileall -q pipeline viewer
	$(PY) -c 'from pipeline.site import compile_templates; compile_templates()'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

demo: setup
	$(VENV)/bin/vitrina serve $(DEMO) --host $(HOST) --port $(PORT)

lint: setup
	$(VENV)/bin/ruff check pipeline viewer tests exhibits assets
	$(VENV)/bin/mypy pipeline viewer

test: setup lint
	$(PY) -m pytest -q -p no:cacheprovider

bench: setup
	$(PY) -m tests.benchmarks.run

# Mutation testing over viewer/tours, pipeline/spec, pipeline/gltf/ and pipeline/budgets.py ([tool.mutmut] in
# pyproject.toml). CPU-heavy: runs niced on one core. `make mutants MUTANTS='viewer.tours.*'` runs a subset.
MUTANTS ?=
mutants: setup
	mkdir -p mutants && ln -sfn ../node_modules mutants/node_modules  # the site build needs three.js; too big to copy
	nice -n 19 $(VENV)/bin/mutmut run --max-children 1 $(MUTANTS)
	$(PY) -m tests.benchmarks.mutation_score

# The whole scope is days of CPU on one core, so this measures it by a seeded sample stratified by module (SAMPLE
# mutants in proportion to each module's count, at least 10 per module) and runs exactly those, by name.
# mutmut lists its mutants only after a run has generated them: the first run (a name that matches nothing) does that
# and collects which tests reach which function; it then stops on purpose. Never run `mutmut print-time-estimates`
# here: mutmut 3.8 then drops the test map from mutants/mutmut-stats.json and every mutant reads "no tests".
SAMPLE ?= 250
SEED ?= 12
mutants-sample: setup
	mkdir -p mutants && ln -sfn ../node_modules mutants/node_modules
	nice -n 19 $(VENV)/bin/mutmut run --max-children 1 'generate_only__mutmut_0' >/dev/null 2>&1 || true
	nice -n 19 $(VENV)/bin/mutmut run --max-children 1 \
		$$($(PY) -m tests.benchmarks.mutation_score --sample $(SAMPLE) --seed $(SEED))
	$(PY) -m tests.benchmarks.mutation_score --score-sample $(SAMPLE) --seed $(SEED)

clean:
	rm -rf $(VENV) node_modules .vitrina-cache site

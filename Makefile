# The README's two commands. Nothing clever: each target says what it runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: setup tools demo dev test lint unit parse clean spark test-spark

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

# Prism, the validating mock the contract tests serve the vendor specs with (npm, into .tools/), and headless
# Chromium, which tests/integration/test_report.py opens the HTML report in (Debian's package; needs root).
tools: .tools/node_modules/.bin/prism /usr/bin/chromium

.tools/node_modules/.bin/prism:
	npm install --prefix .tools --no-audit --no-fund @stoplight/prism-cli@5

/usr/bin/chromium:
	apt-get update && apt-get install -y chromium

# Fresh sample data (scale 1, seed 0, through today), then the whole job on the embedded defaults.
demo: setup
	$(BIN)/expansion generate --out data/raw --scale 1 --seed 0
	$(BIN)/expansion run

# The Dagster UI and daemon on the instance `expansion run` records into (dagster_home/): the schedule, the landing
# sensor and the run queue run on their own; http://127.0.0.1:3000.
dev: setup
	DAGSTER_HOME=$(CURDIR)/dagster_home $(BIN)/dagster dev -h 127.0.0.1 -p 3000  # the code location of pyproject.toml: expansion

parse: setup
	cd dbt_project && ../$(BIN)/dbt parse --quiet --profiles-dir .

# sqlfluff's dbt templater compiles the project, which opens a warehouse: give it a scratch one.
lint: setup
	$(BIN)/ruff check orchestration tests benchmarks
	mkdir -p warehouse
	EXPANSION_WAREHOUSE=$(CURDIR)/warehouse/lint.duckdb $(BIN)/sqlfluff lint dbt_project/models dbt_project/macros \
		dbt_project/tests --processes 2

# Everything: the install, Prism, Spark, a dbt parse, the linters, then pytest on two workers (tests/spark is
# skipped there: it runs in test-spark).
test: setup tools spark parse lint
	$(BIN)/python -m pytest -n 2 --dist worksteal --durations=25

# Spark, for EXPANSION_TARGET=spark and the parity test: Java 17 (Debian's package when `java` is absent; needs
# root) and pyspark with dbt-spark[session] into .venv (the `spark` extra, kept out of `make demo`).
spark: $(VENV)/.spark-installed

$(VENV)/.spark-installed: $(VENV)/.installed pyproject.toml
	command -v java >/dev/null 2>&1 || (apt-get update && apt-get install -y openjdk-17-jre-headless)
	$(BIN)/python -m pip install --quiet -e ".[dev,spark]"
	touch $@

# The whole pipeline on DuckDB and on Spark on one small dirty data set, every table compared row for row.
test-spark: spark
	SPARK_LOCAL_IP=127.0.0.1 EXPANSION_SPARK_TESTS=1 $(BIN)/python -m pytest tests/spark --durations=10

clean:
	rm -rf data/raw warehouse outbox dbt_project/target dbt_project/logs

"""The Spark tests run in `make test-spark` (which installs Java, pyspark and dbt-spark first, and sets
EXPANSION_SPARK_TESTS=1); the whole suite's `pytest` skips them, so that the Spark part runs once per CI run."""

import os

import pytest

SPARK_TESTS_ENV = "EXPANSION_SPARK_TESTS"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(SPARK_TESTS_ENV) == "1":
        return
    skip = pytest.mark.skip(reason=f"Spark tests run in `make test-spark` ({SPARK_TESTS_ENV}=1)")
    for item in items:
        if "tests/spark/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)

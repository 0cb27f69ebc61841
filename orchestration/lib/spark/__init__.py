"""The warehouse on Spark: the session (one configuration for the loader and dbt-spark) and the loader."""

"""Plain Python that knows nothing of Dagster: the data contract, the loader, the sample-data generator."""

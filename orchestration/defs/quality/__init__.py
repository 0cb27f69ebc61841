"""Quality gates: Great Expectations suites as blocking asset checks on the models the syncs read."""

"""Test support: a fault-injecting HTTP server, Prism mocks of the vendor specs, and their pytest fixtures."""

"""Shared fixtures live in these plugin modules, one per fake or resource."""

pytest_plugins = ["tests.fakes.arxiv_server", "tests.fakes.llm_server", "tests.db"]

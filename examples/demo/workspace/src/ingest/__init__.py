"""Acme's batch jobs that load product events into BigQuery."""

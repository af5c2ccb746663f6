"""Keeping models healthy after launch: drift detection (Evidently) and its Prometheus gauges."""

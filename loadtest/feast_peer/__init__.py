"""The Feast side of ``loadtest/bench_feast.py``, run in Feast's own venv, and the timing both sides share."""

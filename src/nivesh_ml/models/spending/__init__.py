"""Spending forecast: next months' spend per user and category, with 80% bands.

Prophet curves per category (trend, seasonality, Indian holidays) times each user's own level
from the feature store; served from stored parameters (:class:`~.model.SpendingForecaster`),
trained with a rolling-origin backtest beside seasonal naive and AutoETS (:mod:`.train`).
"""

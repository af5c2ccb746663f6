"""Anomaly detection: is this debit unusual for this user?

Features of each transaction against the user's ``transaction_stats`` row and recent debits
(:mod:`.features`, :mod:`.context`), an Isolation Forest whose alert threshold is calibrated to a
1% false-positive rate on held-out normal debits (:mod:`.train`), served with reasons in words
(:class:`~.model.AnomalyDetector`).
"""

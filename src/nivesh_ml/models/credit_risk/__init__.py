"""Credit risk: probability of default from a user's behaviour, calibrated, explained and fair.

- :mod:`.config`: training budget, fairness limits, risk bands A-E;
- :mod:`.schema`: the model's inputs, validated on every call;
- :mod:`.data` (Nivesh users, point-in-time features) and :mod:`.benchmarks` (Taiwan, German);
- :mod:`.tuning` (Optuna over XGBoost), :mod:`.calibration`, :mod:`.fitting`, :mod:`.metrics`;
- :mod:`.reasons` (reason codes from ``pred_contribs``), :mod:`.fairness` (fairlearn MetricFrame);
- :mod:`.train`, :mod:`.model` (the served pyfunc and its hot path), :mod:`.evaluate`.

Nothing is imported here: each module is imported where it is used.
"""

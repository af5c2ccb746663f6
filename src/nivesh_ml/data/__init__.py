"""Data sets: the synthetic Nivesh users and transactions, the shipped public data, schemas, versions."""

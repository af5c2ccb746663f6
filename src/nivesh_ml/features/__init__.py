"""Features: definitions, builders, the offline store (Parquet) and the online store (SQLite or Redis)."""

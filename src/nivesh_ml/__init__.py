"""nivesh-ml: Nivesh's ML platform, six financial models from data to production."""

__version__ = "0.1.0"

"""Every error nivesh-ml raises on purpose, in one place.

The hierarchy::

    NiveshError                      base: a problem the user can fix, with a one-line message
    ├── ConfigError                  a setting is missing or has the wrong shape (names the NIVESH_ variable)
    ├── DataError                    input data is missing, damaged or of the wrong shape
    │   ├── DatasetMissingError      a data set's folder or a file in it is not there
    │   ├── ChecksumMismatchError    a file's sha256 differs from the one its SOURCE.md lists
    │   └── SchemaError              a frame does not match its declared schema
    ├── DatabaseError                the app database cannot be reached or migrated
    ├── FeatureStoreError            the feature store cannot answer
    │   └── OnlineStoreUnavailable   the online store's server (Redis) or file cannot be reached in time
    ├── RequestCancelled             work stopped because its request was cancelled (client gone, timeout)
    └── TrackingError                MLflow cannot record or answer
        ├── ModelNotFoundError       no registered version answers to that name and alias
        └── PromotionRefused         the promotion gate (or a manual promote/rollback) said no

The CLI turns any ``NiveshError`` into one line on stderr and exit code 2; the model
server maps them to HTTP status codes in one place (``serving``).
"""

from __future__ import annotations

__all__ = [
    "ChecksumMismatchError",
    "ConfigError",
    "DataError",
    "DatabaseError",
    "DatasetMissingError",
    "FeatureStoreError",
    "ModelNotFoundError",
    "NiveshError",
    "OnlineStoreUnavailable",
    "PromotionRefused",
    "RequestCancelled",
    "SchemaError",
    "TrackingError",
]


class NiveshError(Exception):
    """A problem the user can fix; its message is one line that says what and how."""


class ConfigError(NiveshError):
    """A setting is missing or has the wrong shape."""


class DataError(NiveshError):
    """Input data is missing, damaged or of the wrong shape."""


class DatasetMissingError(DataError):
    """A data set's folder, or a file it must hold, is not there."""


class ChecksumMismatchError(DataError):
    """A file's content differs from the checksum its SOURCE.md lists."""


class SchemaError(DataError):
    """A frame does not match its declared schema."""


class DatabaseError(NiveshError):
    """The app database cannot be reached or migrated."""


class FeatureStoreError(NiveshError):
    """The feature store cannot answer (bad view, version or entity request)."""


class OnlineStoreUnavailable(FeatureStoreError):  # noqa: N818 (reads better than ...Error at call sites)
    """The online store's server or file cannot be reached within its timeout."""


class RequestCancelled(NiveshError):  # noqa: N818 (an outcome, not a fault)
    """Work stopped early because its request was cancelled (the client left, or time ran out)."""


class TrackingError(NiveshError):
    """MLflow (tracking store or registry) cannot record or answer."""


class ModelNotFoundError(TrackingError):
    """No registered model version answers to that name and alias."""


class PromotionRefused(TrackingError):  # noqa: N818 (a decision, not a fault)
    """The promotion gate, or a manual promote or rollback, refused the move."""

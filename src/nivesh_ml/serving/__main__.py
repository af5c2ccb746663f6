"""``python -m nivesh_ml.serving``: serve with the settings of the environment (``NIVESH_*``, .env)."""

from __future__ import annotations

from nivesh_ml.config import load_settings
from nivesh_ml.log import setup_logging
from nivesh_ml.serving.app import serve


def main() -> None:
    """Load settings, set up logging, serve until interrupted."""
    settings = load_settings()
    settings.export_offline_env()
    setup_logging(settings.log_level, settings.log_format)
    serve(settings)


if __name__ == "__main__":
    main()

"""The web UI and JSON API (issue 6): ``create_app(db)`` and ``serve(db, host, port)``."""

from workflow.web.app import create_app, serve

__all__ = ["create_app", "serve"]

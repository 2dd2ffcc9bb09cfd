"""The web UI: static files served by the node's local API (no build step)."""

from kith.ui.routes import CONTENT_SECURITY_POLICY, STATIC_DIR, add_ui_routes

__all__ = ["CONTENT_SECURITY_POLICY", "STATIC_DIR", "add_ui_routes"]

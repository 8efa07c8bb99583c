"""Non-API routes (/ui, /metrics) plugged into the app; each feature adds itself here."""

from __future__ import annotations

from strongroom.server.app import App
from strongroom.server.config import ServerConfig


def install_extras(app: App, cfg: ServerConfig) -> None:
    return None

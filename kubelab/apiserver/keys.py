"""Typed keys for what the HTTP layer stores on requests (aiohttp's RequestKey), shared by server and handlers."""

from __future__ import annotations

from aiohttp import web

# (user name, groups) of the authenticated caller
USER_KEY: web.RequestKey[tuple[str, list[str]]] = web.RequestKey("user", tuple)

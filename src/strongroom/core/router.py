"""Longest-prefix routing from a request path to a mounted backend and its storage view."""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.core.barrier import View
from strongroom.core.mounts import MountEntry
from strongroom.sdk.framework import Backend


@dataclass
class Route:
    entry: MountEntry
    backend: Backend
    view: View

    @property
    def prefix(self) -> str:
        return self.entry.route_path


class Router:
    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}
        self._max_depth = 0

    def add(self, route: Route) -> None:
        self._routes[route.prefix] = route
        self._max_depth = max(self._max_depth, route.prefix.count("/"))

    def remove(self, prefix: str) -> Route | None:
        return self._routes.pop(prefix, None)

    def clear(self) -> None:
        self._routes.clear()
        self._max_depth = 0

    def routes(self) -> list[Route]:
        return list(self._routes.values())

    def get(self, prefix: str) -> Route | None:
        return self._routes.get(prefix)

    def match(self, path: str) -> tuple[Route, str] | None:
        """(route, path relative to the mount). Tries the longest mount prefix first."""
        parts = path.split("/")
        for depth in range(min(len(parts), self._max_depth), 0, -1):
            prefix = "/".join(parts[:depth]) + "/"
            r = self._routes.get(prefix)
            if r is not None:
                return r, path[len(prefix):]
        # "secret" (no trailing slash) addresses the mount root
        r = self._routes.get(path + "/")
        if r is not None:
            return r, ""
        return None

    def by_accessor(self, accessor: str) -> Route | None:
        for r in self._routes.values():
            if r.entry.accessor == accessor:
                return r
        return None

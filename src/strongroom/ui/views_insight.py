"""Visibility: access over time, top readers and paths, denials, alerts with acknowledge, key age and rotation."""

from __future__ import annotations

import time
from typing import Any

from strongroom.auditlog import ReadStats, read, record, summarise
from strongroom.ui import charts
from strongroom.ui.api import Api, ApiError
from strongroom.ui.views_secrets import kv_mounts
from strongroom.ui.web import UiRequest, UiResponse

STALE_DAYS = 90


def _timeline(stamps: list[float]) -> tuple[str, list[tuple[str, int]]]:
    """Requests per minute for short spans, per hour for long ones (at most 60 buckets, the latest)."""
    import datetime as dt
    from collections import Counter

    if not stamps:
        return "Requests over time", []
    span = max(stamps) - min(stamps)
    step, fmt, title = (60, "%H:%M", "Requests per minute (UTC)") if span < 6 * 3600 else \
        (3600, "%m-%d %H:00", "Requests per hour (UTC)")
    counts = Counter(int(t // step) for t in stamps)
    first, last = min(counts), max(counts)
    buckets = list(range(max(first, last - 59), last + 1))
    return title, [(dt.datetime.fromtimestamp(b * step, dt.UTC).strftime(fmt), counts.get(b, 0)) for b in buckets]


class InsightViews:
    def __init__(self, api: Api, render: Any) -> None:
        self.api, self.render = api, render

    async def activity(self, req: UiRequest) -> UiResponse:
        token = req.session.token
        try:
            devices = ((await self.api.read("sys/audit", token) or {}).get("data")) or {}
        except ApiError as e:
            return self.render(req, "activity.html", error=str(e), summary=None)
        files = [str((d.get("options") or {}).get("file_path")) for d in devices.values()
                 if d.get("type") == "file" and (d.get("options") or {}).get("file_path") not in (None, "stdout",
                                                                                                   "discard")]
        if not files:
            return self.render(req, "activity.html", error="Enable a file audit device to see activity.",
                               summary=None)
        prefix = req.query.get("prefix", "")
        stats = ReadStats()
        recs = [r for r in (record(line.entry) for line in read(files[:1], stats)) if r.path.startswith(prefix)]
        s = summarise(recs, top=10)
        hours = _timeline([r.timestamp for r in recs if r.type == "response" and r.timestamp])
        return self.render(req, "activity.html", error="", summary=s, prefix=prefix,
                           chart_hours=charts.columns(hours[0], hours[1]),
                           chart_paths=charts.bars("Top paths", s.top_paths),
                           chart_ids=charts.bars("Top identities", s.top_identities),
                           skipped=stats.malformed)

    async def alerts(self, req: UiRequest) -> UiResponse:
        try:
            keys = await self.api.list("sys/alerts", req.session.token)
            rows = []
            for k in keys[-100:]:
                a = ((await self.api.read(f"sys/alerts/{k}", req.session.token) or {}).get("data")) or {}
                rows.append({"id": k, **a})
            return self.render(req, "alerts.html", rows=rows, error="")
        except ApiError as e:
            return self.render(req, "alerts.html", rows=[], error=str(e))

    async def ack(self, req: UiRequest) -> UiResponse:
        try:
            await self.api.write(f"sys/alerts/{req.form.get('id', '')}/ack", req.session.token)
        except ApiError as e:
            return self.render(req, "error.html", status=e.status, message=str(e))
        return UiResponse.redirect("/ui/alerts")

    async def keys(self, req: UiRequest) -> UiResponse:
        token = req.session.token
        now = time.time()
        barrier: dict[str, Any] = {}
        try:
            barrier = ((await self.api.read("sys/key-status", token) or {}).get("data")) or {}
        except ApiError as e:
            barrier = {"error": str(e)}
        transit: list[dict[str, Any]] = []
        mounts = ((await self.api.read("sys/internal/ui/mounts", token) or {}).get("data") or {}).get("secret") or {}
        for path, m in mounts.items():
            if m.get("type") != "transit":
                continue
            try:
                for name in await self.api.list(f"{path}keys", token):
                    k = ((await self.api.read(f"{path}keys/{name}", token) or {}).get("data")) or {}
                    versions = k.get("keys") or {}
                    latest = versions.get(str(k.get("latest_version")))
                    created = latest if isinstance(latest, (int, float)) else None
                    transit.append({"mount": path, "name": name, "type": k.get("type"),
                                    "latest_version": k.get("latest_version"),
                                    "age_days": int((now - created) / 86400) if created else None,
                                    "auto_rotate_period": k.get("auto_rotate_period")})
            except ApiError:
                continue
        stale: list[dict[str, Any]] = []
        for mount, m in (await kv_mounts(self.api, token)).items():
            if str((m.get("options") or {}).get("version")) != "2":
                continue
            await self._walk(token, mount, "", stale, now, budget=[300])
        return self.render(req, "keys.html", barrier=barrier, transit=transit, stale=stale, stale_days=STALE_DAYS)

    async def _walk(self, token: str, mount: str, prefix: str, out: list[dict[str, Any]], now: float,
                    budget: list[int]) -> None:
        for k in await self.api.list(f"{mount}metadata/{prefix}", token):
            if budget[0] <= 0:
                return
            budget[0] -= 1
            if k.endswith("/"):
                await self._walk(token, mount, prefix + k, out, now, budget)
                continue
            meta = ((await self.api.read(f"{mount}metadata/{prefix}{k}", token) or {}).get("data")) or {}
            updated = str(meta.get("updated_time", ""))
            from strongroom.auditlog.model import parse_time

            ts = parse_time(updated) if updated else 0
            if ts and now - ts > STALE_DAYS * 86400:
                out.append({"path": f"{mount}{prefix}{k}", "updated": updated, "age_days": int((now - ts) / 86400)})

"""Server-rendered SVG bar charts: no chart library, no script, accessible (role=img + title + a data table)."""

from __future__ import annotations

from xml.sax.saxutils import escape


def bars(title: str, rows: list[tuple[str, int]], *, width: int = 640, bar_h: int = 22) -> str:
    if not rows:
        return f'<p class="muted">{escape(title)}: no data yet.</p>'
    top = max(n for _, n in rows) or 1
    label_w = 220
    h = bar_h * len(rows) + 8
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {h}" '
             f'width="100%" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, (label, n) in enumerate(rows):
        y = i * bar_h + 4
        w = max(2, int((width - label_w - 60) * n / top))
        short = label if len(label) <= 34 else label[:31] + "..."
        parts.append(f'<text x="0" y="{y + 15}" class="lbl">{escape(short)}</text>'
                     f'<rect x="{label_w}" y="{y + 3}" width="{w}" height="{bar_h - 8}" class="bar"/>'
                     f'<text x="{label_w + w + 6}" y="{y + 15}" class="val">{n}</text>')
    parts.append("</svg>")
    return "".join(parts)


def columns(title: str, rows: list[tuple[str, int]], *, width: int = 640, height: int = 160) -> str:
    if not rows:
        return f'<p class="muted">{escape(title)}: no data yet.</p>'
    top = max(n for _, n in rows) or 1
    step = min(width / max(len(rows), 1), 40.0)
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height + 20}" '
             f'width="100%" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, (label, n) in enumerate(rows):
        h = max(1, int((height - 10) * n / top))
        x = i * step
        parts.append(f'<rect x="{x + 1:.1f}" y="{height - h}" width="{max(step - 2, 1):.1f}" height="{h}" '
                     f'class="bar"><title>{escape(label)}: {n}</title></rect>')
    parts.append(f'<text x="0" y="{height + 16}" class="lbl">{escape(rows[0][0])}</text>')
    if len(rows) > 1:
        parts.append(f'<text x="{step * len(rows)}" y="{height + 16}" class="lbl" text-anchor="end">'
                     f'{escape(rows[-1][0])}</text>')
    parts.append("</svg>")
    return "".join(parts)

"""Small dependency-free SVG charts for the sweep and the scorecard: an x/y chart (points,
lines) and a horizontal bar chart with p50 bars, p95 whiskers and every run as a dot."""
from __future__ import annotations

import math
from html import escape
from typing import Iterable, Optional

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi]."""
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    v, out = math.ceil(lo / step) * step, []
    while v <= hi + 1e-9:
        out.append(round(v, 6))
        v += step
    return out


def xy_chart(title: str, xlabel: str, ylabel: str, series: list[dict], width: int = 780, height: int = 380,
             note: str = "") -> str:
    """``series``: [{name, points: [(x, y)], kind: "points" | "line" | "dashed", color?}]."""
    pts = [(x, y) for s in series for x, y in s["points"] if x is not None and y is not None]
    if not pts:
        pts = [(0, 0), (1, 1)]
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y1 = max(p[1] for p in pts) * 1.1 or 1
    pad = (x1 - x0) * 0.08 or 1
    x0, x1, y0 = x0 - pad, x1 + pad, 0.0
    left, right, top, bottom = 60, 260, 40, 50
    w, h = width - left - right, height - top - bottom
    sx = lambda x: left + (x - x0) / (x1 - x0) * w  # noqa: E731
    sy = lambda y: top + h - (y - y0) / (y1 - y0) * h  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
           f'font-size="11"><rect width="100%" height="100%" fill="white"/>',
           f'<text x="{left}" y="20" font-size="13" font-weight="bold">{escape(title)}</text>']
    for t in _ticks(y0, y1):
        out.append(f'<line x1="{left}" x2="{left + w}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" stroke="#eee"/>'
                   f'<text x="{left - 6}" y="{sy(t) + 4:.1f}" text-anchor="end">{t:g}</text>')
    for t in _ticks(x0 + pad, x1 - pad):
        out.append(f'<text x="{sx(t):.1f}" y="{top + h + 16}" text-anchor="middle">{t:g}</text>')
    out.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + h}" stroke="#333"/>'
               f'<line x1="{left}" x2="{left + w}" y1="{top + h}" y2="{top + h}" stroke="#333"/>'
               f'<text x="{left + w / 2}" y="{height - 12}" text-anchor="middle">{escape(xlabel)}</text>'
               f'<text x="14" y="{top + h / 2}" transform="rotate(-90 14 {top + h / 2})" '
               f'text-anchor="middle">{escape(ylabel)}</text>')
    for i, s in enumerate(series):
        color = s.get("color") or COLORS[i % len(COLORS)]
        points = sorted((x, y) for x, y in s["points"] if x is not None and y is not None)
        if s.get("kind", "points") == "points":
            out += [f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{color}" fill-opacity="0.7"/>'
                    for x, y in points]
        elif points:
            dash = ' stroke-dasharray="5,4"' if s["kind"] == "dashed" else ""
            path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in points)
            out.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
        ly = top + 14 + i * 16
        out.append(f'<rect x="{left + w + 12}" y="{ly - 8}" width="10" height="10" fill="{color}"/>'
                   f'<text x="{left + w + 26}" y="{ly + 1}">{escape(s["name"])}</text>')
    if note:
        out.append(f'<text x="{left}" y="{top - 6}" fill="#555">{escape(note)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def bar_chart(title: str, rows: list[dict], xlabel: str = "seconds", width: int = 760,
              refs: Iterable[tuple[str, float]] = (), note: str = "") -> str:
    """``rows``: [{label, p50, p95, values, group?}]: a bar to p50, a whisker to p95, a dot per run;
    ``refs``: vertical reference lines (e.g. the server's switch)."""
    rows = [r for r in rows if r.get("p50") is not None]
    refs = [(n, v) for n, v in refs if v is not None]
    top, row_h, left, right = 48, 26, 250, 30
    height = top + row_h * max(1, len(rows)) + 50
    hi = max([r.get("p95") or r["p50"] for r in rows] + [max([v for v in r.get("values") or [] if v is not None]
                                                               or [0]) for r in rows]
             + [v for _, v in refs] + [1.0]) * 1.08
    w = width - left - right
    sx = lambda x: left + x / hi * w  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
           f'font-size="11"><rect width="100%" height="100%" fill="white"/>',
           f'<text x="10" y="20" font-size="13" font-weight="bold">{escape(title)}</text>']
    if note:
        out.append(f'<text x="10" y="36" fill="#555">{escape(note)}</text>')
    base = top + row_h * len(rows)
    for t in _ticks(0, hi):
        out.append(f'<line x1="{sx(t):.1f}" x2="{sx(t):.1f}" y1="{top}" y2="{base}" stroke="#eee"/>'
                   f'<text x="{sx(t):.1f}" y="{base + 14}" text-anchor="middle">{t:g}</text>')
    for i, r in enumerate(rows):
        y = top + i * row_h
        color = COLORS[r.get("group", i) % len(COLORS)]
        out.append(f'<text x="{left - 8}" y="{y + 16}" text-anchor="end">{escape(r["label"])}</text>'
                   f'<rect x="{left}" y="{y + 5}" width="{max(0.0, sx(r["p50"]) - left):.1f}" height="14" '
                   f'fill="{color}" fill-opacity="0.55"/>')
        if r.get("p95") is not None:
            out.append(f'<line x1="{sx(r["p50"]):.1f}" x2="{sx(r["p95"]):.1f}" y1="{y + 12}" y2="{y + 12}" '
                       f'stroke="#333"/><line x1="{sx(r["p95"]):.1f}" x2="{sx(r["p95"]):.1f}" y1="{y + 7}" '
                       f'y2="{y + 17}" stroke="#333"/>')
        out += [f'<circle cx="{sx(v):.1f}" cy="{y + 12}" r="2" fill="#000" fill-opacity="0.5"/>'
                for v in r.get("values") or [] if v is not None]
    for j, (name, v) in enumerate(refs):
        anchor = "end" if sx(v) > width - 200 else "start"  # keep the label inside the picture
        out.append(f'<line x1="{sx(v):.1f}" x2="{sx(v):.1f}" y1="{top - 4}" y2="{base}" stroke="#d62728" '
                   f'stroke-dasharray="4,3"/><text x="{sx(v) + (3 if anchor == "start" else -3):.1f}" '
                   f'y="{base + 28 + j * 12}" fill="#d62728" text-anchor="{anchor}">{escape(name)} {v:.2f}</text>')
    out.append(f'<text x="{left + w / 2}" y="{height - 4}" text-anchor="middle">{escape(xlabel)}</text></svg>')
    return "\n".join(out)


def fit_line(points: Iterable[tuple[float, Optional[float]]]) -> dict:
    """Least squares y = a x + b over the points with a y; r2 the share of variance explained."""
    pts = [(float(x), float(y)) for x, y in points if x is not None and y is not None]
    n = len(pts)
    if n < 2 or len({x for x, _ in pts}) < 2:
        return {"a": None, "b": None, "r2": None, "n": n}
    mx, my = sum(x for x, _ in pts) / n, sum(y for _, y in pts) / n
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    sxy = sum((x - mx) * (y - my) for x, y in pts)
    a = sxy / sxx
    b = my - a * mx
    ss_tot = sum((y - my) ** 2 for _, y in pts)
    ss_res = sum((y - (a * x + b)) ** 2 for x, y in pts)
    return {"a": round(a, 7), "b": round(b, 4), "r2": round(1 - ss_res / ss_tot, 4) if ss_tot else 1.0, "n": n}


__all__ = ["xy_chart", "bar_chart", "fit_line"]

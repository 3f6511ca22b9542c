"""A failover as a picture: one row of operations per client over time (ok / fail / info),
with the servers' events as vertical lines. Plain SVG, no dependencies; GitHub renders it.

Each operation is a tick at its completion, coloured by outcome, on a thin grey line from
its invocation: an operation that waited out the failover in retries shows as a long grey
line ending in a tick, so the gap in ticks is the outage the client saw."""
from __future__ import annotations

from html import escape

COLORS = {"ok": "#2e9d4c", "fail": "#d33", "info": "#e69b00"}
MARKED = ("+sdown", "+odown", "+elected-leader", "+promoted-slave", "+switch-master", "+convert-to-slave",
          "+failover-end", "promoted", "fail", "failover_auth_granted")


def failover_svg(title: str, lanes: dict[str, list[dict]], events: list[dict], t_min: float = -1.0,
                 t_max: float = None, width: int = 960) -> str:
    """``lanes``: name -> ops as dicts with t_invoke, t_complete (seconds relative to the fault)
    and status; ``events``: dicts with t_s and event. Each op is a bar from invoke to complete."""
    ends = [op["t_complete"] for ops in lanes.values() for op in ops if op.get("t_complete") is not None]
    t_max = t_max if t_max is not None else max(ends + [e["t_s"] for e in events] + [1.0]) + 0.5
    left, right, lane_h, top = 170, 20, 34, 50
    height = top + lane_h * len(lanes) + 130
    scale = (width - left - right) / (t_max - t_min)

    def x(t: float) -> float:
        return left + (min(max(t, t_min), t_max) - t_min) * scale

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="22" font-size="15" font-weight="bold">{escape(title)}</text>']
    step = 1.0 if t_max - t_min <= 20 else 5.0
    t = float(int(t_min))
    while t <= t_max:
        out.append(f'<line x1="{x(t):.1f}" y1="{top - 8}" x2="{x(t):.1f}" y2="{top + lane_h * len(lanes)}" '
                   f'stroke="#eee"/><text x="{x(t):.1f}" y="{top + lane_h * len(lanes) + 14}" '
                   f'text-anchor="middle" fill="#666">{t:g}s</text>')
        t += step
    for i, (name, ops) in enumerate(lanes.items()):
        y = top + i * lane_h
        out.append(f'<text x="{left - 8}" y="{y + lane_h / 2 + 4}" text-anchor="end">{escape(name)}</text>')
        for op in ops:
            if op.get("t_complete") is None:
                continue
            x0, x1 = x(op["t_invoke"]), x(op["t_complete"])
            mid = y + lane_h / 2
            if x1 - x0 > 2:
                out.append(f'<line x1="{x0:.1f}" y1="{mid:.1f}" x2="{x1:.1f}" y2="{mid:.1f}" stroke="#bbb"/>')
            out.append(f'<rect x="{x1 - 1:.1f}" y="{y + 6}" width="2" height="{lane_h - 12}" '
                       f'fill="{COLORS.get(op["status"], "#999")}"/>')
    y_axis = top + lane_h * len(lanes)
    out.append(f'<line x1="{x(0):.1f}" y1="{top - 12}" x2="{x(0):.1f}" y2="{y_axis}" stroke="black" '
               f'stroke-width="2"/><text x="{x(0) + 3:.1f}" y="{top - 14}">fault</text>')
    seen = set()
    label_row = 0
    for e in sorted(events, key=lambda e: e["t_s"]):
        if e["event"] in seen or e["event"] not in MARKED:
            continue
        seen.add(e["event"])
        ex = x(e["t_s"])
        ly = y_axis + 32 + 15 * (label_row % 6)
        label_row += 1
        out.append(f'<line x1="{ex:.1f}" y1="{top - 4}" x2="{ex:.1f}" y2="{ly - 10}" stroke="#36c" '
                   f'stroke-dasharray="3,3"/><text x="{ex + 2:.1f}" y="{ly}" fill="#36c">'
                   f'{escape(e["event"])} {e["t_s"]:.2f}s</text>')
    legend_y = height - 12
    for j, (status, color) in enumerate(COLORS.items()):
        out.append(f'<rect x="{left + j * 90}" y="{legend_y - 10}" width="12" height="12" fill="{color}"/>'
                   f'<text x="{left + j * 90 + 16}" y="{legend_y}">{status}</text>')
    out.append("</svg>")
    return "\n".join(out)


SERIES_COLORS = ("#2e6fd8", "#d33", "#2e9d4c", "#e69b00", "#7a4fd0", "#666")


def loglog_svg(title: str, series: dict[str, list[tuple[float, float]]], x_label: str, y_label: str,
               width: int = 720, height: int = 400) -> str:
    """Lines on log-log axes (one per series of (x, y) points, y > 0): a cost curve, where a
    straight line of slope 1 is linear growth. Plain SVG, no dependencies."""
    import math

    points = [(x, y) for pts in series.values() for x, y in pts if x > 0 and y > 0]
    left, right, top, bottom = 70, 170, 40, 50
    if not points:
        points = [(1.0, 1.0)]
    lx = [math.log10(x) for x, _ in points]
    ly = [math.log10(y) for _, y in points]
    x0, x1 = math.floor(min(lx)), math.ceil(max(lx)) or 1
    y0, y1 = math.floor(min(ly)), math.ceil(max(ly))
    x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)

    def px(x: float) -> float:
        return left + (math.log10(x) - x0) / (x1 - x0) * (width - left - right)

    def py(y: float) -> float:
        return height - bottom - (math.log10(y) - y0) / (y1 - y0) * (height - top - bottom)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="22" font-size="15" font-weight="bold">{escape(title)}</text>']
    for e in range(x0, x1 + 1):
        x = px(10 ** e)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - bottom}" stroke="#eee"/>'
                   f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle" fill="#666">{10 ** e:g}</text>')
    for e in range(y0, y1 + 1):
        y = py(10 ** e)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#eee"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#666">{10 ** e:g}</text>')
    out.append(f'<text x="{(left + width - right) / 2:.1f}" y="{height - 12}" text-anchor="middle">'
               f'{escape(x_label)}</text>')
    out.append(f'<text x="16" y="{(top + height - bottom) / 2:.1f}" text-anchor="middle" '
               f'transform="rotate(-90 16 {(top + height - bottom) / 2:.1f})">{escape(y_label)}</text>')
    for i, (name, pts) in enumerate(series.items()):
        color = SERIES_COLORS[i % len(SERIES_COLORS)]
        good = sorted((x, y) for x, y in pts if x > 0 and y > 0)
        if len(good) > 1:
            path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in good)
            out.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for x, y in good:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{color}"/>')
        ly_ = top + 10 + 18 * i
        out.append(f'<rect x="{width - right + 12}" y="{ly_ - 9}" width="12" height="12" fill="{color}"/>'
                   f'<text x="{width - right + 30}" y="{ly_ + 1}">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out)

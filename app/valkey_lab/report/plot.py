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

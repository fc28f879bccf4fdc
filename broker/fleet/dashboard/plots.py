"""Inline SVG charts rendered on the server: lines over time, stacked bars per hour.

Pure: data in, markup out (escaped; no scripts). Times on the x axis are Unix seconds,
labelled in the site's zone (`SiteTime`: WITA unless configured), with its abbreviation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from broker.fleet.localtime import SiteTime

W, H, PAD_L, PAD_R, PAD_T, PAD_B = 640, 180, 48, 12, 14, 26
COLOURS = ("#1f6feb", "#d1242f", "#9a6700", "#1a7f37", "#8250df")


@dataclass(frozen=True, kw_only=True)
class Series:
    label: str
    points: Sequence[tuple[float, float]]
    colour: str = ""


SITE_TIME = SiteTime()


def _frame(title: str, y_max: float, x0: float, x1: float, body: list[str], legend: list[str],
           local: SiteTime) -> str:
    iw, ih = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    out = [f'<svg class="plot" role="img" aria-label="{escape(title)}" viewBox="0 0 {W} {H}"'
           f' width="{W}" height="{H}" xmlns="http://www.w3.org/2000/svg">',
           f"<title>{escape(title)}</title>",
           f'<rect x="{PAD_L}" y="{PAD_T}" width="{iw}" height="{ih}" fill="#fff" stroke="#999"/>']
    for frac in (0.0, 0.5, 1.0):
        y = PAD_T + ih * (1 - frac)
        out.append(f'<text x="{PAD_L - 4}" y="{y + 4:.1f}" font-size="11" text-anchor="end">'
                   f"{y_max * frac:.3g}</text>")
    for frac, anchor in ((0.0, "start"), (1.0, "end")):
        x = PAD_L + iw * frac
        out.append(f'<text x="{x:.1f}" y="{H - 8}" font-size="11" text-anchor="{anchor}">'
                   f"{escape(local.short(x0 + (x1 - x0) * frac))}</text>")
    out += body
    out += legend
    out.append("</svg>")
    return "".join(out)


def _legend(labels: list[tuple[str, str]]) -> list[str]:
    out, x = [], PAD_L + 6
    for label, colour in labels:
        out.append(f'<rect x="{x}" y="{PAD_T + 4}" width="10" height="10" fill="{colour}"/>'
                   f'<text x="{x + 14}" y="{PAD_T + 13}" font-size="11">{escape(label)}</text>')
        x += 22 + 7 * len(label)
    return out


def line_chart(title: str, series: Sequence[Series], *, x_range: tuple[float, float] | None = None,
               y_max: float | None = None, step: bool = False, local: SiteTime = SITE_TIME) -> str:
    pts = [p for s in series for p in s.points]
    if not pts:
        return f'<p class="empty">{escape(title)}: —</p>'
    x0, x1 = x_range or (min(p[0] for p in pts), max(p[0] for p in pts))
    x1 = x1 if x1 > x0 else x0 + 1
    top = y_max if y_max is not None else max(max(p[1] for p in pts), 1.0)
    top = top or 1.0
    iw, ih = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    body, labels = [], []
    for i, s in enumerate(series):
        colour = s.colour or COLOURS[i % len(COLOURS)]
        labels.append((s.label, colour))
        coords: list[str] = []
        prev_y = None
        for t, v in sorted(s.points):
            x = PAD_L + iw * (min(max(t, x0), x1) - x0) / (x1 - x0)
            y = PAD_T + ih * (1 - min(max(v, 0.0), top) / top)
            if step and prev_y is not None:
                coords.append(f"{x:.1f},{prev_y:.1f}")
            coords.append(f"{x:.1f},{y:.1f}")
            prev_y = y
        body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(coords)}"/>')
    return _frame(title, top, x0, x1, body, _legend(labels), local)


def stacked_bars(title: str, hours: Sequence[float], stacks: Sequence[Series], *,
                 local: SiteTime = SITE_TIME) -> str:
    """One bar per hour; `stacks[i].points` are (hour, count) for layer i."""
    if not hours:
        return f'<p class="empty">{escape(title)}: —</p>'
    hours = sorted(set(hours))
    totals = {h: 0.0 for h in hours}
    for s in stacks:
        for h, v in s.points:
            totals[h] = totals.get(h, 0.0) + v
    top = max(max(totals.values()), 1.0)
    iw, ih = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    bw = iw / len(hours)
    body, labels, base = [], [], dict.fromkeys(hours, 0.0)
    for i, s in enumerate(stacks):
        colour = s.colour or COLOURS[i % len(COLOURS)]
        labels.append((s.label, colour))
        for h, v in s.points:
            if h not in base or v <= 0:
                continue
            x = PAD_L + bw * hours.index(h)
            y = PAD_T + ih * (1 - (base[h] + v) / top)
            body.append(f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(bw - 2, 1):.1f}"'
                        f' height="{ih * v / top:.1f}" fill="{colour}"><title>{int(v)}</title></rect>')
            base[h] += v
    return _frame(title, top, hours[0], hours[-1] + 3600, body, _legend(labels), local)

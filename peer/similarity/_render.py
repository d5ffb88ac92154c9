"""The similarity report as text, html or json: every pair, most similar first, with the
matching regions side by side. Self-contained (no script, no request), like the html report.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape

import attrs

from ._winnow import Program, Region, rank, regions

FORMATS = ("text", "html", "json")
#: Regions shown per pair in text and html (json has them all).
SHOWN_REGIONS = 5


@attrs.frozen
class Pair:
    score: float
    a: Program
    b: Program
    regions: tuple[Region, ...]


def pairs_of(programs: Sequence[Program], against: Sequence[Program] = ()) -> list[Pair]:
    """Every pair of ``programs`` and every (program, earlier term's program), ranked."""
    ranked = rank(programs)
    if against:
        ranked += [(s, a, b) for s, a, b in rank([*programs, *against]) if b in against]
        ranked = [t for t in ranked if not (t[1] in against and t[2] in against)]
        ranked.sort(key=lambda t: (-t[0], t[1].label, t[2].label))
    return [Pair(s, a, b, regions(a, b)) for s, a, b in ranked]


def render(pairs: Sequence[Pair], title: str, fmt: str) -> str:
    if fmt == "json":
        return _json(pairs, title)
    if fmt == "html":
        return _html(pairs, title)
    return _text(pairs, title)


def _json(pairs: Sequence[Pair], title: str) -> str:
    doc = {
        "problem": title,
        "pairs": [
            {
                "a": p.a.label,
                "b": p.b.label,
                "similarity": round(p.score, 4),
                "regions": [
                    {"a_lines": list(r.a_lines), "b_lines": list(r.b_lines), "tokens": r.tokens}
                    for r in p.regions
                ],
            }
            for p in pairs
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _text(pairs: Sequence[Pair], title: str) -> str:
    out = [f"similarity of the latest submissions to {title!r}, most similar first"]
    if not pairs:
        out.append("(fewer than two submissions to compare)")
    for p in pairs:
        out.append(f"{p.score * 100:5.1f}%  {p.a.label}  ~  {p.b.label}")
        for r in p.regions[:SHOWN_REGIONS]:
            out.append(
                f"        lines {r.a_lines[0]}-{r.a_lines[1]} ~ lines "
                f"{r.b_lines[0]}-{r.b_lines[1]} ({r.tokens} tokens)"
            )
    return "\n".join(out) + "\n"


_CSS = (
    "body{font:15px/1.5 system-ui,sans-serif;max-width:1100px;margin:24px auto;padding:0 24px}"
    "table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e5e7eb;"
    "padding:6px 8px;text-align:left;vertical-align:top}pre{margin:0;white-space:pre-wrap;"
    "font:13px ui-monospace,monospace;background:#fef9c3;padding:6px}.num{text-align:right}"
    "details{margin:8px 0 18px}.muted{color:#6b7280}"
)


def _html(pairs: Sequence[Pair], title: str) -> str:
    head = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">"
        f"<title>Similarity: {escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>Similarity: {escape(title)}</h1>"
        '<p class="muted">Latest submissions, most similar first; examples and starter code '
        "left out. Made offline from this peer's store.</p>"
    )
    rows = []
    for n, p in enumerate(pairs):
        rows.append(
            f'<tr><td class="num">{p.score * 100:.1f}%</td><td>{escape(p.a.label)}</td>'
            f'<td>{escape(p.b.label)}</td><td><a href="#pair{n}">{len(p.regions)} region(s)'
            "</a></td></tr>"
        )
    table = (
        '<table><thead><tr><th class="num">Similarity</th><th>A</th><th>B</th>'
        f"<th>Matches</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    details = []
    for n, p in enumerate(pairs):
        if not p.regions:
            continue
        parts = [f'<h2 id="pair{n}">{escape(p.a.label)} ~ {escape(p.b.label)}</h2>']
        for r in p.regions[:SHOWN_REGIONS]:
            parts.append(
                "<table><tr>"
                f"<th>{escape(p.a.label)}, lines {r.a_lines[0]}-{r.a_lines[1]}</th>"
                f"<th>{escape(p.b.label)}, lines {r.b_lines[0]}-{r.b_lines[1]}</th></tr>"
                f"<tr><td><pre>{escape(r.a_text)}</pre></td>"
                f"<td><pre>{escape(r.b_text)}</pre></td></tr></table>"
            )
        details.append("".join(parts))
    return head + table + "".join(details) + "</body></html>\n"

"""The html report's stylesheet: inline, system fonts only, tuned for screen and for print."""

from __future__ import annotations

CSS = """
:root {
  --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --paper: #ffffff; --wash: #f8fafc;
  --accent: #2563eb; --ok: #047857; --ok-bg: #d1fae5; --warn: #b45309; --warn-bg: #fef3c7;
  --wait: #475569; --wait-bg: #e2e8f0; --none: #9ca3af;
}
* { box-sizing: border-box; }
html { background: var(--wash); }
body {
  margin: 0 auto; max-width: 1080px; padding: 32px 40px 24px; color: var(--ink);
  background: var(--paper); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto,
  "Helvetica Neue", Arial, sans-serif; font-variant-numeric: tabular-nums;
}
header { border-bottom: 3px solid var(--accent); padding-bottom: 12px; margin-bottom: 8px; }
h1 { font-size: 28px; margin: 0 0 4px; letter-spacing: -0.01em; }
h2 {
  font-size: 21px; margin: 34px 0 12px; padding-bottom: 4px;
  border-bottom: 1px solid var(--line);
}
h3 { font-size: 18px; margin: 24px 0 8px; }
h4 { font-size: 16px; margin: 18px 0 8px; }
.context { color: var(--muted); margin: 0; }
.id { color: var(--muted); font: 12px ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 14px; font-size: 14px; }
th, td {
  text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line);
  vertical-align: top;
}
th { background: var(--wash); font-weight: 600; color: #374151; }
td.num, th.num { text-align: right; }
th:first-child, td:first-child { min-width: 11em; }
.scroll { overflow-x: auto; }
.pill {
  display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12.5px;
  font-weight: 600; white-space: nowrap;
}
.pill.accepted, .pill.accept { color: var(--ok); background: var(--ok-bg); }
.pill.revise { color: var(--warn); background: var(--warn-bg); }
.pill.pending { color: var(--wait); background: var(--wait-bg); }
.pill.not_attempted { color: var(--none); background: transparent; font-weight: 400; }
.pill.role { color: #1e40af; background: #dbeafe; font-weight: 500; }
.pill.late { color: #b91c1c; background: #fee2e2; }
.pill.role.instructor { color: #6d28d9; background: #ede9fe; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(120px, 1fr)); gap: 10px; }
.card {
  border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px;
  background: var(--wash);
}
.card .value { font-size: 21px; font-weight: 650; white-space: nowrap; }
.card .label { color: var(--muted); font-size: 13px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 18px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px 10px; }
svg.chart { width: 100%; height: auto; display: block; }
svg .chart-title { font: 600 14px system-ui, sans-serif; fill: var(--ink); }
svg .tick, svg .axis-label { font: 11px system-ui, sans-serif; fill: var(--muted); }
svg .empty { font: italic 13px system-ui, sans-serif; fill: var(--muted); }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .axis { stroke: #9ca3af; stroke-width: 1; }
.legend {
  list-style: none; margin: 4px 0 0; padding: 0; display: flex; flex-wrap: wrap; gap: 4px 14px;
  font-size: 13px;
}
.legend .swatch {
  display: inline-block; width: 18px; height: 4px; border-radius: 2px; margin-right: 6px;
  vertical-align: middle;
}
.legend .swatch.dashed { background: none !important; border-top: 3px dashed; height: 0; }
.student { margin-top: 30px; }
.student > h3 { font-size: 22px; border-left: 5px solid var(--accent); padding-left: 10px; }
.problem { margin: 10px 0 22px; }
.attempt { border: 1px solid var(--line); border-radius: 8px; margin: 10px 0; overflow: hidden; }
.attempt-head {
  display: flex; flex-wrap: wrap; gap: 4px 14px; align-items: baseline; padding: 8px 12px;
  background: var(--wash); border-bottom: 1px solid var(--line); font-size: 14px;
}
.attempt-head strong { font-size: 15px; }
.checks.all { color: var(--ok); } .checks.some { color: var(--warn); }
.feedback { padding: 10px 14px; border-top: 1px solid var(--line); }
.feedback:first-of-type { border-top: 0; }
.fb-head { display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: baseline; font-size: 14px; }
.fb-head time, .muted { color: var(--muted); }
.score { font-weight: 650; }
.comment { margin: 6px 0 0; overflow-wrap: anywhere; }
.comment > :first-child { margin-top: 0; } .comment > :last-child { margin-bottom: 0; }
.comment h1, .comment h2, .comment h3, .comment h4, .comment h5, .comment h6 {
  font-size: 15px; margin: 8px 0 4px; border: 0; padding: 0;
}
.comment pre {
  background: #f3f4f6; padding: 8px 10px; border-radius: 6px; overflow-x: auto;
  font-size: 13px;
}
.comment code { font: 13px ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
.comment blockquote {
  margin: 6px 0; padding-left: 10px; border-left: 3px solid var(--line); color: #4b5563;
}
.comment table { width: auto; }
.earlier {
  margin: 8px 0 0 14px; padding: 6px 10px; border-left: 3px solid var(--line);
  font-size: 13.5px; color: #4b5563;
}
.earlier-head {
  display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: baseline; font-size: 13px;
  color: var(--muted);
}
.none { color: var(--muted); font-style: italic; margin: 6px 0; }
.attempt .none { padding: 8px 12px; margin: 0; }
footer {
  margin-top: 40px; padding-top: 10px; border-top: 1px solid var(--line); color: var(--muted);
  font-size: 12.5px;
}
@media (max-width: 640px) {
  body { padding: 18px 14px; }
  .charts { grid-template-columns: 1fr; }
}
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  html, body { background: #fff; }
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2, h3, h4, .attempt-head { break-after: avoid; }
  .attempt, figure, .card, tr, .earlier { break-inside: avoid; }
  .student { break-before: page; }
  .charts { grid-template-columns: 1fr 1fr; gap: 10px; }
  .scroll { overflow: visible; }
  table { font-size: 9pt; }
  th, td { padding: 3px 6px; }
  .pill { font-size: 8.5pt; padding: 0 6px; }
  a { color: inherit; }
  .comment a[href]::after {
    content: " <" attr(href) ">"; color: var(--muted); font-size: 0.9em;
  }
}
"""

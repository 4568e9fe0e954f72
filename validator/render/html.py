"""One self-contained HTML file: no network (a Content-Security-Policy forbids it), small inline CSS and JS.

The summary cards filter the table by status, the column heads sort it, a search
box filters by text; the state lives in the URL fragment
(`#status=fail,error&sort=severity&q=sg-`), so a link opens the same view and a
headless browser can be pointed at one. Each finding's expected/actual/fix is in
a <details> under its message (open for fail and error).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from typing import Any

from validator import __version__
from validator.findings import Finding
from validator.render.common import SEVERITY_ORDER, STATUS_ORDER, counts, explanation, resource_label, title, verdict

STATUSES = ("pass", "fail", "warn", "error", "skip")

CSS = """
:root{--fail:#c62828;--error:#8e24aa;--warn:#ef6c00;--pass:#2e7d32;--skip:#757575;--line:#ddd}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;
max-width:1400px;padding:24px;color:#222}h1{font-size:22px;margin:0 0 4px}.verdict{font-weight:600;margin:0 0 16px}
.v0{color:var(--pass)}.v1{color:var(--fail)}.v2{color:var(--error)}
#summary{display:flex;gap:10px;flex-wrap:wrap;margin-bottom:12px}
.card{border:2px solid var(--line);border-radius:8px;padding:8px 14px;background:#fff;cursor:pointer;font:inherit;
min-width:90px;text-align:left}.card .n{display:block;font-size:24px;font-weight:700}
#summary.filtering .card[aria-pressed=false]{opacity:.4}.card[aria-pressed=true]{box-shadow:0 0 0 2px #333}.card.st-fail{border-color:var(--fail)}.card.st-error{border-color:var(--error)}
.card.st-warn{border-color:var(--warn)}.card.st-pass{border-color:var(--pass)}.card.st-skip{border-color:var(--skip)}
#tools{display:flex;gap:12px;align-items:center;margin:8px 0}#q{padding:6px 8px;width:320px;font:inherit}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;
vertical-align:top}th{cursor:pointer;user-select:none;background:#f6f6f6;position:sticky;top:0}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
.badge{display:inline-block;border-radius:4px;padding:1px 6px;color:#fff;font-weight:600;font-size:12px}
.b-fail{background:var(--fail)}.b-error{background:var(--error)}.b-warn{background:var(--warn)}
.b-pass{background:var(--pass)}.b-skip{background:var(--skip)}code{font-size:12px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 10px;margin:6px 0}dt{font-weight:600;color:#555}
dd{margin:0;white-space:pre-wrap;word-break:break-word}tr[hidden]{display:none}footer{margin-top:16px;color:#777}
"""

JS = """
(function(){
var ORDER={status:%(status_order)s,severity:%(severity_order)s};
var body=document.body,tbody=document.querySelector('#findings tbody');
var rows=Array.prototype.slice.call(tbody.rows),cards=document.querySelectorAll('.card');
var q=document.getElementById('q'),state={status:null,sort:null,dir:1,q:''};
function key(r,k){var v=r.dataset[k]||'';return ORDER[k]?ORDER[k].indexOf(v):v.toLowerCase();}
function apply(){
  var shown=0,text=state.q.toLowerCase();
  rows.forEach(function(r){
    var ok=(!state.status||state.status.indexOf(r.dataset.status)>=0)&&(!text||r.textContent.toLowerCase().indexOf(text)>=0);
    r.hidden=!ok;if(ok)shown++;});
  cards.forEach(function(c){c.setAttribute('aria-pressed',String(!!state.status&&state.status.indexOf(c.dataset.status)>=0));});
  document.getElementById('summary').classList.toggle('filtering',!!state.status);
  if(state.sort){
    var sorted=rows.slice().sort(function(a,b){var x=key(a,state.sort),y=key(b,state.sort);
      return (x<y?-1:x>y?1:rows.indexOf(a)-rows.indexOf(b))*(x===y?1:state.dir);});
    sorted.forEach(function(r){tbody.appendChild(r);});}
  document.querySelectorAll('#findings th').forEach(function(th){
    th.setAttribute('aria-sort',th.dataset.key===state.sort?(state.dir>0?'ascending':'descending'):'none');});
  document.getElementById('shown-n').textContent=shown;
  var h=[];if(state.status)h.push('status='+state.status.join(','));
  if(state.sort)h.push('sort='+(state.dir<0?'-':'')+state.sort);if(state.q)h.push('q='+encodeURIComponent(state.q));
  if(history.replaceState)history.replaceState(null,'',h.length?'#'+h.join('&'):location.pathname+location.search);
}
function load(){
  location.hash.replace(/^#/,'').split('&').forEach(function(p){
    var i=p.indexOf('='),k=p.slice(0,i),v=decodeURIComponent(p.slice(i+1));
    if(k==='status'&&v)state.status=v.split(',');
    if(k==='sort'&&v){state.dir=v.charAt(0)==='-'?-1:1;state.sort=v.replace(/^-/,'');}
    if(k==='q'){state.q=v;q.value=v;}});
}
// a card shows only its status; another card adds its own; clicking a shown one again removes it,
// and with none left (or all) every finding is shown
cards.forEach(function(c){c.addEventListener('click',function(){
  var s=c.dataset.status,all=%(statuses)s,cur=state.status?state.status.slice():[],i=cur.indexOf(s);
  if(i>=0)cur.splice(i,1);else cur.push(s);
  state.status=cur.length===0||cur.length===all.length?null:cur;apply();});});
document.querySelectorAll('#findings th').forEach(function(th){th.addEventListener('click',function(){
  if(state.sort===th.dataset.key)state.dir=-state.dir;else{state.sort=th.dataset.key;state.dir=1;}apply();});});
q.addEventListener('input',function(){state.q=q.value;apply();});
load();apply();body.dataset.ready='1';
})();
"""


def _row(f: Finding) -> str:
    info = "".join(f"<dt>{escape(label)}</dt><dd>{escape(text)}</dd>" for label, text in explanation(f))
    more = ""
    if info:
        is_open = " open" if f.status in ("fail", "error") else ""
        more = f"<details{is_open}><summary>expected / actual / fix</summary><dl>{info}</dl></details>"
    res = resource_label(f)
    return (
        f'<tr data-status="{f.status}" data-severity="{f.severity}" data-rule="{escape(f.rule_id)}" '
        f'data-resource="{escape(res)}" data-message="{escape(f.message)}">'
        f'<td><span class="badge b-{f.status}">{f.status.upper()}</span></td>'
        f"<td>{escape(f.severity)}</td><td><code>{escape(f.rule_id)}</code><br>{escape(f.title)}</td>"
        f"<td>{escape(res)}<br><small>{escape(f.resource_type)}</small></td>"
        f"<td>{escape(f.message)}{more}</td></tr>"
    )


def render(findings: Sequence[Finding], meta: dict[str, Any]) -> str:

    c = counts(findings)
    code, why = verdict(findings, meta)
    head = escape(title(meta))
    cards = "".join(
        f'<button type="button" class="card st-{s}" data-status="{s}" aria-pressed="false">'
        f'<span class="n" id="count-{s}">{c[s]}</span>{s}</button>'
        for s in STATUSES
    )
    # findings needing attention first, in the rule pack's order otherwise
    ordered = sorted(findings, key=lambda f: STATUS_ORDER.index(f.status))
    rows = "\n".join(_row(f) for f in ordered)
    js = JS % {
        "status_order": json.dumps(list(STATUS_ORDER)),
        "severity_order": json.dumps(list(SEVERITY_ORDER)),
        "statuses": json.dumps(list(STATUSES)),
    }
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{head}</title>
<style>{CSS}</style>
</head>
<body data-ready="0" data-exit="{code}">
<h1>{head}</h1>
<p class="verdict v{code}">{escape(why)} (exit {code})</p>
<section id="summary" aria-label="summary: click a status to show only it, more to add them, again to remove">{cards}</section>
<div id="tools"><input id="q" type="search" placeholder="filter: rule, resource, message" aria-label="filter">
<span id="shown">showing <span id="shown-n">{len(findings)}</span> of <span id="total-n">{len(findings)}</span></span></div>
<table id="findings">
<thead><tr><th data-key="status">status</th><th data-key="severity">severity</th><th data-key="rule">rule</th>
<th data-key="resource">resource</th><th data-key="message">message</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
<footer>vhv {escape(__version__)}</footer>
<script>{js}</script>
</body>
</html>
"""

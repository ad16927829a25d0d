/** The HTML report's stylesheet (inline; no web fonts, no network). */
export const REPORT_CSS = `
:root{--fg:#1d1d1f;--muted:#667;--line:#d8dbe0;--bg:#f6f7f9;--card:#fff;--accent:#1565c0;--bad:#c62828}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:var(--fg);background:var(--bg)}
header.top{position:sticky;top:0;z-index:5;background:#fff;border-bottom:1px solid var(--line);padding:8px 20px;display:flex;gap:18px;align-items:baseline;flex-wrap:wrap}
header.top h1{font-size:17px;margin:0;overflow-wrap:anywhere}
header.top nav a{margin-right:12px;color:var(--accent);text-decoration:none;font-size:13px}
main{padding:12px 20px 40px;max-width:1800px;margin:0 auto}
section{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:12px 16px;margin:14px 0}
h2{font-size:15px;margin:0 0 8px}
table.kv{border-collapse:collapse}
table.kv td{padding:1px 14px 1px 0;vertical-align:top;overflow-wrap:anywhere}
table.kv td:first-child{color:var(--muted);white-space:nowrap}
pre{background:#fbfbfc;border:1px solid var(--line);padding:8px 10px;overflow:auto;font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;white-space:pre-wrap;overflow-wrap:anywhere;max-height:520px;margin:6px 0}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,monospace;background:#eef0f3;padding:1px 5px;border-radius:3px;overflow-wrap:anywhere}
.rule{font:12px ui-monospace,monospace;background:#fde2e1;color:#a1251b;padding:1px 6px;border-radius:3px;white-space:nowrap}
.rule.info{background:#fff3cd;color:#7a5a00}
.meta{color:var(--muted);font-size:12.5px}
.splat{border-top:1px solid var(--line);padding:8px 0 4px;scroll-margin-top:70px}
.splat:first-of-type{border-top:0}
.splat h3{font-size:14px;margin:0 0 2px;overflow-wrap:anywhere}
.splat.flash{animation:flash 1.6s ease-out}
@keyframes flash{0%{background:#fff3b0}100%{background:transparent}}
.stacks{margin:6px 0 2px}
.stack{margin:4px 0 6px}
.stack .label{font-size:12.5px;color:#333;overflow-wrap:anywhere}
.stack ol{margin:2px 0 0;padding-left:22px;font:12px/1.5 ui-monospace,monospace}
.stack li{overflow-wrap:anywhere}
.stack li.lib{color:#888}
.stack a{color:var(--accent);text-decoration:none}
.stack a.plain{color:#888;margin-left:6px;font-size:11px}
button,select{font:inherit;font-size:12.5px}
button.link{background:none;border:0;color:var(--accent);cursor:pointer;padding:0;font-size:12.5px}
.toolbar{display:flex;flex-wrap:wrap;gap:6px 14px;align-items:center;margin:0 0 8px;font-size:12.5px}
.toolbar .groups label{margin-right:8px;white-space:nowrap}
.toolbar .range{color:var(--muted);font-variant-numeric:tabular-nums}
#timeline{position:relative;border:1px solid var(--line);border-radius:4px;background:#fff;user-select:none}
#tl-scroll{position:relative;height:62vh;min-height:180px;overflow-y:auto;overflow-x:hidden}
#tl-canvas{position:sticky;top:0;left:0;display:block;cursor:grab}
#tl-canvas.dragging{cursor:grabbing}
#tl-markers{position:absolute;z-index:3;top:0;left:0;right:0;height:0;pointer-events:none}
.splat-marker{position:absolute;top:2px;width:14px;height:14px;margin-left:-7px;border-radius:50%;background:#d93025;border:2px solid #fff;box-shadow:0 0 0 1px #d93025;cursor:pointer;pointer-events:auto;padding:0}
.splat-marker.flash{animation:pulse 1.2s ease-out 2}
@keyframes pulse{0%{transform:scale(1.8)}100%{transform:scale(1)}}
#tl-tip{position:absolute;z-index:4;pointer-events:none;background:#222;color:#fff;font-size:12px;line-height:1.35;padding:6px 8px;border-radius:4px;max-width:480px;white-space:pre-wrap;overflow-wrap:anywhere;display:none}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;color:#444;margin-top:8px}
.legend span.sw{display:inline-block;width:12px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px}
table.sched{border-collapse:collapse;width:100%;font-size:12.5px}
table.sched th{text-align:left;color:var(--muted);font-weight:600;border-bottom:1px solid var(--line);padding:3px 8px 3px 0;position:sticky;top:0;background:#fff}
table.sched td{padding:2px 8px 2px 0;vertical-align:top;border-bottom:1px solid #f0f1f3;overflow-wrap:anywhere}
table.sched td.num{font-variant-numeric:tabular-nums;white-space:nowrap}
table.sched .alt{color:var(--muted)}
#sched-wrap{max-height:520px;overflow:auto}
details.legend-box summary{cursor:pointer;font-weight:600}
dl.notation{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:4px 0 12px}
dl.notation dt{font:12.5px ui-monospace,monospace}
dl.notation dd{margin:0}
.failure{border-left:4px solid var(--bad);padding-left:10px}
@media (max-width:900px){main{padding:8px}section{padding:10px}}
`;

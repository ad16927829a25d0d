/**
 * The server-rendered parts of the HTML report: the summary table, each
 * splat with its body and backtraces (source lines as editor links), a
 * thread error with its throw site, and the legend of lockdep's notation.
 * Everything from the run (names, notes, headlines, bodies, paths) is
 * escaped here; the timeline and schedule are drawn by the client from the
 * embedded data with textContent and canvas text, never as markup.
 */
import { isAbsolute, resolve } from 'node:path';
import { explainRule, LOCKDEP_NOTATION } from '../check/index.ts';
import type { FoldedFrame, FrameRef, ReportStack, Splat } from '../kernel/index.ts';
import { STYLE_KEYS, STYLES } from './html-model.ts';

/** HTML-escape text for element content and attribute values. */
export function esc(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** Virtual time in the report's one unit: ms, trailing zeros trimmed. */
export function msText(ns: number): string {
  const v = (ns / 1e6).toFixed(6).replace(/\.?0+$/, '');
  return `${v} ms`;
}

/** A time as ms with the exact ns in its tooltip. */
export function timeHtml(ns: number): string {
  return `<span title="${ns} ns">${msText(ns)}</span>`;
}

/** A source location as a link that opens the editor, plus a plain file link. */
export function locationHtml(f: FrameRef, cwd: string): string {
  const loc = `${f.file}:${f.line}:${f.col}`;
  if (f.file.startsWith('node:')) return esc(loc);
  const abs = isAbsolute(f.file) ? f.file : resolve(cwd, f.file);
  const posix = abs.split('\\').join('/');
  const vscode = `vscode://file${posix.startsWith('/') ? '' : '/'}${encodeURI(posix)}:${f.line}:${f.col}`;
  const plain = `file://${posix.startsWith('/') ? '' : '/'}${encodeURI(posix)}`;
  return `<a href="${esc(vscode)}" title="open in VS Code">${esc(loc)}</a><a class="plain" href="${esc(plain)}" title="${esc(abs)}">file</a>`;
}

function frameHtml(f: FoldedFrame, cwd: string): string {
  const fn = (r: FrameRef): string => `<code>${esc(r.fn || '<anonymous>')}</code>`;
  if (f.kind === 'user') return `<li>${fn(f)} ${locationHtml(f, cwd)}</li>`;
  const same = f.inner.file === f.outer.file && f.inner.line === f.outer.line;
  const inner = `${fn(f.inner)} ${locationHtml(f.inner, cwd)}`;
  const outer = same ? '' : ` … ${fn(f.outer)} ${locationHtml(f.outer, cwd)}`;
  return `<li class="lib">[${f.frames} library frame${f.frames > 1 ? 's' : ''}] ${inner}${outer}</li>`;
}

/** A list of backtraces (innermost frame first). */
export function stacksHtml(stacks: readonly ReportStack[], cwd: string): string {
  return stacks
    .map((s) => {
      const who = [s.thread, s.step !== null ? `step ${s.step}` : null].filter(Boolean).join(', ');
      return (
        `<div class="stack"><div class="label">${esc(s.label)}${who ? ` <span class="meta">(${esc(who)})</span>` : ''}</div>` +
        `<ol>${s.frames.map((f) => frameHtml(f, cwd)).join('')}</ol></div>`
      );
    })
    .join('');
}

function ruleTitle(rule: string): string {
  const r = explainRule(rule) as { title?: unknown } | null;
  return r && typeof r.title === 'string' ? r.title : '';
}

/** Every splat: rule, headline, where and when, body, backtraces, and a link to its marker. */
export function splatsHtml(splats: readonly Splat[], cwd: string, stacksNote: string): string {
  if (splats.length === 0) return '<p>No splats: the run reported nothing.</p>';
  return splats
    .map((s, i) => {
      const title = ruleTitle(s.rule);
      const stacks = s.stacks?.length
        ? `<details class="stacks" open><summary class="meta">backtraces (innermost first; library frames folded)</summary>${stacksHtml(s.stacks, cwd)}</details>`
        : `<p class="meta">${esc(stacksNote)}</p>`;
      return (
        `<div class="splat" id="splat-${i}"><h3><span class="rule${s.severity === 'info' ? ' info' : ''}"${title ? ` title="${esc(title)}"` : ''}>${esc(s.rule)}</span> ${esc(s.headline)}</h3>` +
        `<div class="meta">thread ${esc(s.thread ?? '-')}, virtual time ${timeHtml(s.timeNs)}, step ${s.step} · ` +
        `<button class="link" data-show-splat="${i}">show on the timeline</button> · <code>dmabuf-lab explain ${esc(s.rule)}</code></div>` +
        (s.body ? `<pre>${esc(s.body)}</pre>` : '') +
        stacks +
        '</div>'
      );
    })
    .join('');
}

/** A thread that threw: the message and where. */
export function failureHtml(
  f: { readonly kind: string; readonly message: string; readonly stack?: readonly FoldedFrame[] },
  cwd: string,
): string {
  const stack = f.stack?.length
    ? stacksHtml([{ label: 'thrown at', thread: null, step: null, frames: f.stack }], cwd)
    : '';
  return `<div class="failure"><p><strong>${esc(f.kind)}</strong>: ${esc(f.message)}</p>${stack}</div>`;
}

/** The summary table. */
export function summaryHtml(rows: readonly (readonly [string, string])[]): string {
  return `<table class="kv">${rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('')}</table>`;
}

/** The legend: the timeline colours this run uses (all when `used` is null) and lockdep's notation. */
export function legendHtml(used: ReadonlySet<string> | null): string {
  const colours = STYLE_KEYS.filter((k) => used === null || used.has(k))
    .map(
      (k) =>
        `<span><span class="sw" style="background:${STYLES[k].color}"></span>${esc(STYLES[k].legend)}</span>`,
    )
    .join('');
  const notation = LOCKDEP_NOTATION.map(
    (g) =>
      `<h3>${esc(g.title)}</h3><p class="meta">${esc(g.intro)}</p><dl class="notation">` +
      g.entries.map((e) => `<dt>${esc(e.mark)}</dt><dd>${esc(e.meaning)}</dd>`).join('') +
      '</dl>',
  ).join('');
  return (
    `<details class="legend-box" open><summary>Timeline colours</summary><div class="legend">${colours}</div></details>` +
    `<details class="legend-box"><summary>lockdep notation in splats ({+.+.}, -{4:4}, [EN], {r})</summary>${notation}</details>`
  );
}

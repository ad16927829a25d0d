/** Small text helpers for the CLI's output. */
import { isAbsolute, relative } from 'node:path';
import { pcErr } from './colors.ts';

/**
 * Control characters that must not reach a terminal from text the user (or
 * a file someone sent them) controls: C0 (including ESC, BEL, CR), DEL, C1,
 * and the bidirectional overrides that reorder what is shown. `safe` keeps
 * newlines and tabs (multi-line bodies), `safeLine` escapes them too (names,
 * one-line fields).
 */
// Matching control characters is the point of these two expressions.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const CONTROL_LINE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  if (c === '\n') return '\\n';
  if (c === '\t') return '\\t';
  if (c === '\r') return '\\r';
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `text` with terminal control characters shown as escapes (`\x1b`); newlines and tabs kept. */
export function safe(text: string): string {
  return text.replace(CONTROL, escapeChar);
}

/** `text` on one line with every control character shown as an escape (`\n`, `\x1b`). */
export function safeLine(text: string): string {
  return text.replace(CONTROL_LINE, escapeChar);
}

/** Print an error paragraph on stderr (wrapped to the terminal's width; one line per paragraph when not a terminal). */
export function printError(message: string): void {
  process.stderr.write(`${pcErr.red('error:')} ${forTerminal(safe(message))}\n`);
}

/** Print a warning line (or paragraph) on stderr, e.g. `warning: ...` or `limit: ...`. */
export function printWarning(message: string, label = 'warning:'): void {
  process.stderr.write(`${pcErr.yellow(label)} ${forTerminal(safe(message))}\n`);
}

/** Wrap `text` for stderr when it is a terminal; leave it as is otherwise (logs, greps). */
export function forTerminal(text: string): string {
  const cols = process.stderr.isTTY ? process.stderr.columns : 0;
  return cols > 20 ? wrap(text, Math.min(cols - 1, 110)) : text;
}

/** Virtual time for people (`src/kernel/time-text.ts`). */
export { formatNs } from '../kernel/time-text.ts';

/**
 * `5000000` → `5,000,000`. Integers are grouped by hand: the first
 * `toLocaleString` of a process initialises ICU (about 18 ms, a tenth of a
 * short `dmabuf-lab run`); other numbers as `toLocaleString('en-US')`.
 */
export function formatCount(n: number): string {
  if (Number.isSafeInteger(n)) return String(n).replace(/\B(?=(\d{3})+$)/g, ',');
  return n.toLocaleString('en-US');
}

/** Indent every line of `text` by `n` spaces. */
export function indent(text: string, n: number): string {
  const pad = ' '.repeat(n);
  return text
    .split('\n')
    .map((l) => (l.length ? pad + l : l))
    .join('\n');
}

/** `1 splat`, `2 splats`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Quote a shell word when it needs it. */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A path as the user would type it: relative to the working directory when inside it. */
export function displayPath(p: string): string {
  if (!isAbsolute(p)) return p;
  const rel = relative(process.cwd(), p);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return p;
  return rel.startsWith('.') ? rel : `./${rel}`;
}

/** Wrap a paragraph at `width` columns. */
export function wrap(text: string, width = 100): string {
  return text
    .split('\n')
    .map((para) => {
      const words = para.split(' ');
      const lines: string[] = [];
      let line = '';
      for (const w of words) {
        if (line && line.length + 1 + w.length > width) {
          lines.push(line);
          line = w;
        } else {
          line = line ? `${line} ${w}` : w;
        }
      }
      lines.push(line);
      return lines.join('\n');
    })
    .join('\n');
}

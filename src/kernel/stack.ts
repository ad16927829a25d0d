/**
 * Source locations for reports: the one place that captures TypeScript
 * stacks and folds them for people. The model's own code (this package's
 * `src/`, Node internals, `node_modules`) is "library"; everything else (the
 * scenario, its `_helper.ts` files, a test) is "user" code, whose frames a
 * report shows one by one as `file:line:col`. Consecutive library frames fold
 * into one line naming where the user's call entered the library and the
 * innermost frame outside the kernel core.
 *
 * Capture is off by default (it costs a stack walk per call): a run turns it
 * on with `captureStacks: true`, which the CLI does when it replays a run
 * that reported something.
 *
 * @kernel the role of stack_trace_save() / stack_depot_save() and of the
 * backtraces lockdep, KASAN and WARN() print
 */
import { findSourceMap } from 'node:module';
import type { SourceMap, SourceMapping } from 'node:module';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One frame of a captured stack. */
export interface StackFrame {
  /** Function name as V8 gives it (`Mutex.lock`, `thread_ab`), `''` when anonymous. */
  readonly fn: string;
  /** Path relative to the working directory (absolute when outside it; `node:...` for Node's own). */
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** This package's source, Node internals or a dependency: folded in reports. */
  readonly library: boolean;
}

/** A captured stack, innermost frame first. */
export type Backtrace = readonly StackFrame[];

/** A frame as reports show it: `fn (file:line:col)`. */
export interface FrameRef {
  readonly fn: string;
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

/**
 * One line of a folded backtrace: a user frame, or a run of library frames
 * named by the innermost frame outside the kernel core (`inner`, the driver
 * or framework line that did it) and the outermost one (`outer`, where the
 * user's call entered the library).
 */
export type FoldedFrame =
  | ({ readonly kind: 'user' } & FrameRef)
  | {
      readonly kind: 'library';
      readonly frames: number;
      readonly inner: FrameRef;
      readonly outer: FrameRef;
    };

/**
 * A backtrace attached to a report: what it shows (`acquired lock_b`,
 * `reported here`, `thread_ab blocked in mutex_lock`), by which thread and
 * at which step, innermost frame first. Plain data (it crosses worker
 * threads and goes into `--json`).
 */
export interface ReportStack {
  readonly label: string;
  readonly thread: string | null;
  readonly step: number | null;
  readonly frames: readonly FoldedFrame[];
}

/** Frames a capture keeps (V8 counts async frames too). */
const CAPTURE_FRAMES = 48;

const here = fileURLToPath(import.meta.url);
/** This package's source root (`src/` or, compiled, `dist/src/`): two levels above this file. */
const libraryRoot = here.slice(0, here.lastIndexOf(sep, here.lastIndexOf(sep) - 1) + 1);

const FRAME = /^\s*at (?:(.*?) \()?(.+?):(\d+):(\d+)\)?$/;

function displayFile(abs: string): string {
  if (abs.startsWith('node:')) return abs;
  const cwd = process.cwd();
  const rel = relative(cwd, abs);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
}

function isLibrary(abs: string): boolean {
  return (
    abs.startsWith('node:') ||
    abs.startsWith(libraryRoot) ||
    abs.includes(`${sep}node_modules${sep}`) ||
    !isAbsolute(abs)
  );
}

interface RawFrame extends StackFrame {
  readonly abs: string;
}

/** Parse V8 stack text (`    at fn (file:line:col)`) into frames, innermost first. */
function parseRaw(stack: string): RawFrame[] {
  const out: RawFrame[] = [];
  for (const text of stack.split('\n')) {
    const m = FRAME.exec(text);
    if (!m) continue;
    let loc = m[2]!;
    if (loc.startsWith('file://')) {
      try {
        loc = fileURLToPath(loc);
      } catch {
        continue;
      }
    }
    if (loc.includes('(') || loc.startsWith('eval')) continue;
    const fn = (m[1] ?? '').replace(/^async /, '').replace(/ \[as [^\]]+\]$/, '');
    out.push({
      // A thread body is called as `t.fn(t)`, which V8 names after the property.
      fn: fn === '<anonymous>' ? '' : fn === 'Thread.fn' ? '<thread body>' : fn,
      file: displayFile(loc),
      line: Number(m[3]),
      col: Number(m[4]),
      library: isLibrary(loc),
      abs: loc,
    });
  }
  return out;
}

/**
 * Parse the stack text of an Error (a thread's uncaught throw) into frames, innermost first.
 *
 * @kernel none: it reads a JavaScript Error's stack text
 */
export function parseStack(stack: string): Backtrace {
  return parseRaw(stack).map(({ abs: _abs, ...f }) => f);
}

/** Per generated file: its source map (null: none, positions are the source's own). */
const maps = new Map<string, SourceMap | null>();
/** Per generated position: the frame it maps to. */
const mapped = new Map<string, StackFrame | null>();
/** Set once a transformed file without a source map we can read is met (a test runner's own transform). */
let textOnly = false;

function sourceMapOf(file: string): SourceMap | null {
  let m = maps.get(file);
  if (m === undefined) {
    m = findSourceMap(file) ?? null;
    maps.set(file, m);
    // TypeScript we cannot map: only the formatted stack (mapped by whoever transformed it) is right.
    if (!m && /\.[cm]?tsx?$/.test(file)) textOnly = true;
  }
  return m;
}

/** V8's name for a call site, as its stack text would print it. */
function siteName(cs: NodeJS.CallSite): string {
  const fn = cs.getFunctionName();
  const type = cs.isToplevel() ? null : cs.getTypeName();
  const name = fn
    ? type && !fn.startsWith(`${type}.`)
      ? `${type}.${fn}`
      : fn
    : type && cs.getMethodName()
      ? `${type}.${cs.getMethodName()}`
      : '';
  return name === 'Thread.fn' ? '<thread body>' : name;
}

/** One call site as a frame, through the file's source map (cached per position). */
function frameOf(cs: NodeJS.CallSite): StackFrame | null {
  const url = cs.getFileName() ?? cs.getScriptNameOrSourceURL();
  const line = cs.getLineNumber();
  const col = cs.getColumnNumber();
  if (!url || line === null || col === null) return null;
  const fn = siteName(cs);
  const key = `${url}:${line}:${col}:${fn}`;
  const hit = mapped.get(key);
  if (hit !== undefined) return hit;
  let frame: StackFrame | null = null;
  let abs = url;
  if (abs.startsWith('file://')) {
    try {
      abs = fileURLToPath(abs);
    } catch {
      abs = '';
    }
  }
  if (abs && !abs.startsWith('eval')) {
    const map = abs.startsWith('node:') ? null : sourceMapOf(url);
    let file = abs;
    let l = line;
    let c = col;
    // An empty object when the position has no mapping.
    const e: Partial<SourceMapping> | undefined = map?.findEntry(line - 1, col - 1);
    if (
      e?.originalSource !== undefined &&
      e.originalLine !== undefined &&
      e.originalColumn !== undefined
    ) {
      file = e.originalSource.startsWith('file://')
        ? fileURLToPath(e.originalSource)
        : resolve(dirname(abs), e.originalSource);
      l = e.originalLine + 1;
      c = e.originalColumn + 1;
    }
    frame = { fn, file: displayFile(file), line: l, col: c, library: isLibrary(file) };
    if (file === here) frame = null;
  }
  mapped.set(key, frame);
  return frame;
}

/** The raw call sites above `captureStack` (cheap: nothing is formatted). */
function callSites(): NodeJS.CallSite[] {
  // Saved to be put back as it was, never called here.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const savedPrepare = Error.prepareStackTrace;
  const savedLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = CAPTURE_FRAMES;
  Error.prepareStackTrace = (_e, sites) => sites;
  const holder: { stack?: unknown } = {};
  Error.captureStackTrace(holder, captureStack);
  const sites = holder.stack as NodeJS.CallSite[];
  Error.prepareStackTrace = savedPrepare;
  Error.stackTraceLimit = savedLimit;
  return sites;
}

/**
 * Capture the current stack, innermost first, without this module's own
 * frames. Callers test `k.captureStacks` first: this walks the stack.
 *
 * Raw call sites mapped through each file's source map and cached per
 * position cost a few microseconds; formatting `new Error().stack` (which
 * maps every frame again each time) is the fallback when a file was
 * transformed by a loader whose maps Node does not have (a test runner).
 *
 * @kernel stack_trace_save
 */
export function captureStack(): Backtrace {
  if (!textOnly) {
    const out: StackFrame[] = [];
    for (const cs of callSites()) {
      const f = frameOf(cs);
      if (f) out.push(f);
    }
    if (!textOnly) return out;
  }
  const saved = Error.stackTraceLimit;
  Error.stackTraceLimit = CAPTURE_FRAMES;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = saved;
  return parseRaw(stack)
    .filter((f) => f.abs !== here)
    .map(({ abs: _abs, ...f }) => f);
}

function ref(f: StackFrame): FrameRef {
  return { fn: f.fn, file: f.file, line: f.line, col: f.col };
}

/** True for a frame of the kernel core or the checkers (by display path, after capture). */
function coreFrame(f: StackFrame): boolean {
  return f.library && /(^|\/)src\/(kernel|check)\//.test(f.file.split(sep).join('/'));
}

/**
 * Fold a backtrace for a report: user frames kept, each run of library
 * frames one entry. Node's own frames at the outer end (the promise job
 * queue) are dropped, and so is the kernel core's thread start-up below the
 * outermost user frame.
 *
 * @kernel none: report formatting (the kernel prints every frame)
 */
export function foldStack(bt: Backtrace): FoldedFrame[] {
  let end = bt.length;
  while (end > 0 && bt[end - 1]!.file.startsWith('node:')) end--;
  // Below the outermost user frame, kernel-core frames are the thread start-up (ret_from_fork's role): noise.
  if (bt.slice(0, end).some((f) => !f.library)) while (end > 0 && coreFrame(bt[end - 1]!)) end--;
  const out: FoldedFrame[] = [];
  for (let i = 0; i < end;) {
    const f = bt[i]!;
    if (!f.library) {
      out.push({ kind: 'user', ...ref(f) });
      i++;
      continue;
    }
    let j = i;
    while (j < end && bt[j]!.library) j++;
    const run = bt.slice(i, j);
    const outer = run[run.length - 1]!;
    const inner = run.find((x) => !coreFrame(x) && !x.file.startsWith('node:')) ?? outer;
    out.push({ kind: 'library', frames: run.length, inner: ref(inner), outer: ref(outer) });
    i = j;
  }
  return out;
}

/**
 * `file:line:col` of a frame.
 *
 * @kernel none: report formatting
 */
export function frameLocation(f: FrameRef): string {
  return `${f.file}:${f.line}:${f.col}`;
}

/**
 * The one-line site of a backtrace, as lockdep's `at:` shows it: the
 * innermost user frame, else the innermost library frame outside the kernel
 * core (the driver line that did it), else `<unknown>`.
 *
 * @kernel none: report formatting (the site lockdep prints after "at:")
 */
export function siteOfStack(bt: Backtrace): string {
  const user = bt.find((f) => !f.library);
  if (user) return frameLocation(user);
  const lib = bt.find((f) => !coreFrame(f) && !f.file.startsWith('node:'));
  return lib ? frameLocation(lib) : '<unknown>';
}

/**
 * A folded backtrace as text lines (no indentation): user frames as
 * `fn (file:line:col)`, library runs as `[n library frames] inner ... outer`.
 *
 * @kernel none: report formatting
 */
export function formatFolded(frames: readonly FoldedFrame[]): string[] {
  const one = (f: FrameRef): string => `${f.fn || '<anonymous>'} (${frameLocation(f)})`;
  return frames.map((f) => {
    if (f.kind === 'user') return one(f);
    const n = `[${f.frames} library frame${f.frames > 1 ? 's' : ''}]`;
    const same =
      f.inner.file === f.outer.file && f.inner.line === f.outer.line && f.inner.col === f.outer.col;
    return same ? `${n} ${one(f.outer)}` : `${n} ${one(f.inner)} ... ${one(f.outer)}`;
  });
}

/**
 * A `ReportStack` as text: its label, then the folded frames indented.
 *
 * @kernel none: report formatting (the role of stack_trace_print)
 */
export function formatReportStack(s: ReportStack): string {
  const who = [s.thread, s.step !== null ? `step ${s.step}` : null].filter(Boolean).join(', ');
  const head = `${s.label}${who ? ` (${who})` : ''}:`;
  const lines = formatFolded(s.frames);
  return [head, ...(lines.length ? lines : ['(no frames captured)']).map((l) => `  ${l}`)].join(
    '\n',
  );
}

/**
 * Source location of the caller `skip` frames above the function calling
 * this, as `file:line:col` relative to the working directory. Used for
 * per-creation-site lock classes (always on: it is the class key, so it
 * must not depend on whether stacks are captured) and for single sites.
 *
 * @kernel none: a creation site stands for the address of the static lock_class_key that mutex_init() and friends use
 */
export function callerSite(skip: number): string {
  const saved = Error.stackTraceLimit;
  Error.stackTraceLimit = skip + 2;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = saved;
  const line = stack.split('\n')[skip + 2] ?? '';
  const f = parseRaw(line)[0];
  return f ? frameLocation(f) : '<unknown>';
}

/**
 * Where a lock was taken, for reports: `siteOfStack(captureStack())`.
 *
 * @kernel _RET_IP_ as lock_acquire() records it (printed after "at:")
 */
export function acquireSite(): string {
  return siteOfStack(captureStack());
}

/**
 * Where an error was thrown in the user's code: the innermost frame of its
 * stack outside this package, Node and dependencies, as `file:line:col`
 * (relative to the working directory when inside it), or null.
 *
 * @kernel none: it reads a JavaScript Error's stack text
 */
export function userThrowSite(error: unknown): string | null {
  if (!(error instanceof Error) || typeof error.stack !== 'string') return null;
  const f = parseStack(error.stack).find((x) => !x.library);
  return f ? frameLocation(f) : null;
}

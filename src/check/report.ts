/**
 * Text of lockdep reports, laid out like the kernel's (print_circular_bug,
 * print_deadlock_bug, print_usage_bug, print_bad_irq_dependency,
 * print_irq_inversion_bug, print_lock_invalid_wait_context). Addresses and
 * stack traces are replaced by "thread at time (step), run, TypeScript site".
 *
 * @kernel kernel/locking/lockdep.c (print_* functions)
 */
import type { HeldLock, SplatStackInput, Thread } from '../kernel/index.ts';
import type { BfsNode } from './bfs.ts';
import { formatNs } from '../kernel/index.ts';
import { depNames } from './graph.ts';
import type { LockClass, LockEdge, LockSite } from './graph.ts';
import { USAGE_STR, usageChars, usageNames } from './usage.ts';

/** `print_lock_name`: ` (name){+.+.}-{outer:inner}`. */
export function classLabel(cls: LockClass): string {
  return `(${cls.name}){${usageChars(cls.usage)}}-{${cls.waitOuter || cls.waitInner}:${cls.waitInner}}`;
}

/**
 * Where an acquisition happened, as one line. The run is named when it is
 * not `currentRun` (an edge recorded in an earlier run of an exploration).
 */
export function siteText(s: LockSite, currentRun = 1): string {
  const run = s.run !== currentRun ? `, run ${s.run} (seed ${s.seed})` : '';
  return `${s.thread} at ${formatNs(s.timeNs)} (step ${s.step})${run}${s.site ? `, at ${s.site}` : ''}`;
}

/** A recorded site as a backtrace for `SplatInput.stacks` (skipped when it has none). */
export function siteStack(label: string, s: LockSite | null | undefined): SplatStackInput {
  return { label, thread: s?.thread ?? null, step: s?.step ?? null, stack: s?.stack ?? null };
}

/** Structured form of a site for `--json`. */
export function siteData(s: LockSite | null): Record<string, unknown> | null {
  return s ? { thread: s.thread, timeNs: s.timeNs, step: s.step, site: s.site, run: s.run, seed: s.seed } : null;
}

/** `print_lock`: a held lock with where it was taken. */
export function heldText(t: Thread, h: HeldLock, cls: LockClass): string {
  return `${classLabel(cls)}, at: ${h.site ?? `${t.name} at ${formatNs(h.timeNs)} (step ${h.step})`}`;
}

/** The held-lock list of `t` (`lockdep_print_held_locks`), first `n` entries. */
export function heldListText(t: Thread, held: readonly HeldLock[], classes: readonly LockClass[], n = held.length): string {
  if (n === 0) return `no locks held by ${t.name}/${t.id}.`;
  const lines = [`${n} lock${n > 1 ? 's' : ''} held by ${t.name}/${t.id}:`];
  for (let i = 0; i < n; i++) lines.push(` #${i}: ${heldText(t, held[i]!, classes[i]!)}`);
  return lines.join('\n');
}

/** Structured held-lock list. */
export function heldData(held: readonly HeldLock[], classes: readonly LockClass[], n = held.length): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) out.push(lockData(held[i]!, classes[i]!));
  return out;
}

/** Structured description of one acquisition. */
export function lockData(h: HeldLock, cls: LockClass): Record<string, unknown> {
  return {
    class: cls.name,
    key: cls.key,
    subclass: cls.subclass,
    lock: h.map.name,
    read: h.read,
    trylock: h.trylock,
    usage: usageChars(cls.usage),
    timeNs: h.timeNs,
    step: h.step,
    site: h.site,
  };
}

/** Structured form of an edge. */
export function edgeData(e: LockEdge): Record<string, unknown> {
  return { from: e.from.name, to: e.to.name, type: depNames(e.dep), recorded: siteData(e.origin), fromSite: e.fromSite };
}

/** `[HC0[0]:SC0[0]:HE1:SE1]` for a thread. */
export function irqStateText(t: Thread): string {
  const hc = t.context === 'hardirq' ? 1 : 0;
  const sc = t.context === 'softirq' ? 1 : 0;
  return `[HC${hc}[${hc}]:SC${sc}[${sc}]:HE${t.hardirqsEnabled ? 1 : 0}:SE${t.softirqsEnabled ? 1 : 0}]`;
}

/** One entry of "the existing dependency chain". */
function chainEntry(depth: number, n: BfsNode, now: string, run: number): string {
  const e = n.edge;
  const how = e
    ? `       ${e.to.name} acquired while holding ${e.from.name} [${depNames(e.dep)}]: ${siteText(e.origin, run)}` +
      (e.fromSite ? `\n       ${e.from.name} had been acquired at ${e.fromSite}` : '')
    : `       ${now}`;
  return `-> #${depth} ${classLabel(n.cls)}:\n${how}\n`;
}

/** Inputs of a circular-dependency report. */
export interface CircularInput {
  readonly t: Thread;
  readonly next: HeldLock;
  readonly ncls: LockClass;
  readonly prev: HeldLock;
  readonly pcls: LockClass;
  /** Path from `next`'s class (root) to `prev`'s class (found by the BFS). */
  readonly path: readonly BfsNode[];
  /** The held-lock stack before `next`. */
  readonly held: readonly HeldLock[];
  readonly classes: readonly LockClass[];
  readonly depth: number;
  readonly now: string;
  /** The current run number (edges from other runs name theirs). */
  readonly run: number;
}

/** `print_circular_bug` body. */
export function circularBody(c: CircularInput): string {
  const { t, path } = c;
  const d = path.length - 1;
  let out =
    `${t.name}/${t.id} is trying to acquire lock:\n ${heldText(t, c.next, c.ncls)}\n\n` +
    `but task is already holding lock:\n ${heldText(t, c.prev, c.pcls)}\n\n` +
    'which lock already depends on the new lock.\n\n\nthe existing dependency chain (in reverse order) is:\n\n';
  for (let i = d; i >= 0; i--) out += chainEntry(i, path[i]!, c.now, c.run) + '\n';
  const parent = path[d - 1]!.cls;
  out += 'other info that might help us debug this:\n\n';
  if (parent !== c.ncls) out += `Chain exists of:\n  ${c.ncls.name} --> ${parent.name} --> ${c.pcls.name}\n\n`;
  const l = (read: number): string => (read !== 0 ? 'rlock' : 'lock');
  out +=
    ' Possible unsafe locking scenario:\n\n' +
    '       CPU0                    CPU1\n' +
    '       ----                    ----\n' +
    `  ${l(c.prev.read)}(${c.pcls.name});\n` +
    `                               lock(${parent.name});\n` +
    `                               lock(${c.pcls.name});\n` +
    `  ${l(c.next.read)}(${c.ncls.name});\n\n *** DEADLOCK ***\n\n`;
  out += heldListText(t, c.held, c.classes, c.depth);
  return out;
}

/** `print_deadlock_bug` body (recursive locking). */
export function recursiveBody(
  t: Thread,
  next: HeldLock,
  ncls: LockClass,
  prev: HeldLock,
  pcls: LockClass,
  held: readonly HeldLock[],
  classes: readonly LockClass[],
  depth: number,
): string {
  return (
    `${t.name}/${t.id} is trying to acquire lock:\n ${heldText(t, next, ncls)}\n\n` +
    `but task is already holding lock:\n ${heldText(t, prev, pcls)}\n\n` +
    'other info that might help us debug this:\n' +
    ' Possible unsafe locking scenario:\n\n       CPU0\n       ----\n' +
    `  lock(${pcls.name});\n  lock(${ncls.name});\n\n *** DEADLOCK ***\n\n` +
    ' May be due to missing lock nesting notation\n\n' +
    heldListText(t, held, classes, depth)
  );
}

/** `print_usage_bug` body (inconsistent lock state). */
export function inconsistentBody(
  run: number,
  t: Thread,
  h: HeldLock,
  cls: LockClass,
  prevBit: number,
  newBit: number,
  held: readonly HeldLock[],
  classes: readonly LockClass[],
  depth: number,
): string {
  const was = cls.usageSites[prevBit];
  return (
    `inconsistent {${USAGE_STR[prevBit]!}} -> {${USAGE_STR[newBit]!}} usage.\n` +
    `${t.name}/${t.id} ${irqStateText(t)} takes:\n ${heldText(t, h, cls)}\n` +
    `{${USAGE_STR[prevBit]!}} state was registered at:\n  ${was ? siteText(was, run) : '?'}\n\n` +
    'other info that might help us debug this:\n' +
    ' Possible unsafe locking scenario:\n\n       CPU0\n       ----\n' +
    `  lock(${cls.name});\n  <Interrupt>\n    lock(${cls.name});\n\n *** DEADLOCK ***\n\n` +
    heldListText(t, held, classes, depth)
  );
}

/** `print_irq_lock_scenario`. */
export function irqScenario(safe: LockClass, unsafe: LockClass, prevClass: LockClass, nextClass: LockClass): string {
  const middle = prevClass === safe ? nextClass : prevClass;
  let out = '';
  if (middle !== unsafe) out += `Chain exists of:\n  ${safe.name} --> ${middle.name} --> ${unsafe.name}\n\n`;
  return (
    out +
    ' Possible interrupt unsafe locking scenario:\n\n' +
    '       CPU0                    CPU1\n' +
    '       ----                    ----\n' +
    `  lock(${unsafe.name});\n` +
    '                               local_irq_disable();\n' +
    `                               lock(${safe.name});\n` +
    `                               lock(${middle.name});\n` +
    `  <Interrupt>\n    lock(${safe.name});\n\n *** DEADLOCK ***\n\n`
  );
}

/**
 * `print_shortest_lock_dependencies(_backwards)`: the path found by a
 * search, printed from the class found back to the search root, each class
 * with its usage sites and where the next lock of the chain was taken.
 */
export function shortestPathText(leaf: BfsNode, backward: boolean, run: number): string {
  const lines: string[] = [];
  let pending: LockEdge | null = null;
  for (let n: BfsNode | null = leaf; n; n = n.parent) {
    const pad = ' '.repeat(n.depth);
    lines.push(`${pad}-> ${classLabel(n.cls)} {`);
    for (let b = 0; b < USAGE_STR.length; b++) {
      const s = n.cls.usageSites[b];
      if (s) lines.push(`${pad}   ${USAGE_STR[b]!} at: ${siteText(s, run)}`);
    }
    lines.push(`${pad} }`);
    // Forward: the edge into this class; backward: the edge from the class printed before.
    const e = backward ? pending : n.edge;
    if (e) lines.push(`${pad} ... acquired at: ${siteText(e.origin, run)}`);
    pending = n.edge;
  }
  return lines.join('\n');
}

/** Structured usage of a class. */
export function classData(cls: LockClass): Record<string, unknown> {
  return { class: cls.name, key: cls.key, subclass: cls.subclass, usage: usageChars(cls.usage), usageBits: usageNames(cls.usage) };
}

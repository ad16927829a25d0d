/**
 * IRQ usage states: marking a class used in hardirq / softirq context or
 * with those interrupts enabled, the per-class consistency check
 * ("inconsistent lock state"), the dependency checks when a class changes
 * state ("irq lock inversion") and when an edge is added
 * ("X-safe -> X-unsafe lock order").
 *
 * @kernel mark_usage, mark_lock, mark_lock_irq, valid_state, check_usage_forwards/backwards, check_irq_usage (kernel/locking/lockdep.c)
 */
import type { HeldLock, Kernel, SplatInput, Thread } from '../kernel/index.ts';
import { bfs, pathTo } from './bfs.ts';
import type { BfsNode } from './bfs.ts';
import type { LockClass, LockdepGraph, LockSite } from './graph.ts';
import {
  classData,
  classLabel,
  heldData,
  heldListText,
  heldText,
  inconsistentBody,
  irqScenario,
  irqStateText,
  lockData,
  shortestPathText,
  siteData,
  siteStack,
  siteText,
} from './report.ts';
import {
  exclusiveBit,
  exclusiveMask,
  findExclusiveMatch,
  irqKindName,
  LOCKF_ENABLED_IRQ_ALL,
  LOCKF_IRQ,
  LOCKF_USED_IN_IRQ_ALL,
  originalMask,
  READ_MASK,
  stateName,
  Usage,
  USAGE_STR,
  DIR_MASK,
} from './usage.ts';

/**
 * What the IRQ-usage checks need of the validator: the `Lockdep` members of
 * the same names. Declared here, not imported, because lockdep.ts calls
 * these checks on every acquisition: the checks sit below the validator.
 */
export interface LockdepCore {
  readonly graph: LockdepGraph;
  runOf(k: Kernel): number;
  siteOf(t: Thread, h: HeldLock): LockSite;
  report(t: Thread, key: string, s: SplatInput): void;
  classesOf(t: Thread): LockClass[];
}

/** The kernel's marking order: in-IRQ bits first, then IRQs-enabled bits, then "used". */
const MARK_ORDER = [0, 1, 4, 5, 2, 3, 6, 7, 8, 9];

/** `usage_match`: reads count only when the path into the class is not recursive-read only. */
function usageMatch(n: BfsNode, mask: number): boolean {
  return ((n.onlyXr ? n.cls.usage & LOCKF_IRQ : n.cls.usage) & mask) !== 0;
}

/**
 * `mark_usage`: give `cls` the usage bits of acquisition `h` in `t`'s
 * context; new bits are validated. `depth` is the stack depth before `h`.
 */
export function markUsage(ld: LockdepCore, t: Thread, h: HeldLock, cls: LockClass, depth: number): void {
  const r = h.read !== 0 ? 1 : 0;
  let want = 1 << (r ? Usage.USED_READ : Usage.USED);
  if (!h.trylock) {
    if (t.context === 'hardirq') want |= 1 << (Usage.USED_IN_HARDIRQ + r);
    else if (t.context === 'softirq') want |= 1 << (Usage.USED_IN_SOFTIRQ + r);
  }
  if (h.hardirqsOn) {
    want |= 1 << (Usage.ENABLED_HARDIRQ + r);
    if (h.softirqsOn) want |= 1 << (Usage.ENABLED_SOFTIRQ + r);
  }
  if ((cls.usage & want) === want) return;
  let reported = false;
  for (const bit of MARK_ORDER) {
    if ((want & (1 << bit)) === 0 || (cls.usage & (1 << bit)) !== 0) continue;
    // After one report the remaining bits are recorded without checks (one
    // report per acquisition, as the kernel stops at the first).
    if (reported) setBit(ld, t, h, cls, bit);
    else reported = !markLock(ld, t, h, cls, bit, depth);
  }
}

function setBit(ld: LockdepCore, t: Thread, h: HeldLock, cls: LockClass, bit: number): void {
  ld.graph.setUsage(cls, bit, ld.siteOf(t, h));
}

/**
 * `mark_lock`: set one bit and validate it; false when a report was made.
 * `depth` is how much of `t`'s held stack the report lists.
 */
export function markLock(ld: LockdepCore, t: Thread, h: HeldLock, cls: LockClass, bit: number, depth: number): boolean {
  setBit(ld, t, h, cls, bit);
  if (bit >= Usage.USED) return true;
  const excl = exclusiveBit(bit);
  const read = bit & READ_MASK;
  if (cls.usage & (1 << excl)) return inconsistent(ld, t, h, cls, excl, bit, depth);
  if (!read && cls.usage & (1 << (excl | READ_MASK))) return inconsistent(ld, t, h, cls, excl | READ_MASK, bit, depth);
  const mask = (1 << excl) | (1 << (excl | READ_MASK));
  if (bit & DIR_MASK) {
    // Newly IRQ-unsafe: no IRQ-safe class may lead here.
    if (ld.graph.irqSafeClasses === 0) return true;
    const hit = bfs(ld.graph, cls, h.read !== 0, true, (n) => usageMatch(n, mask));
    if (hit) return inversion(ld, t, h, cls, hit, false, hit.cls.usage & (1 << excl) ? excl : excl | READ_MASK, depth);
  } else {
    // Newly IRQ-safe: nothing reachable from here may be IRQ-unsafe.
    const hit = bfs(ld.graph, cls, h.read === 2, false, (n) => usageMatch(n, mask));
    if (hit) return inversion(ld, t, h, cls, hit, true, hit.cls.usage & (1 << excl) ? excl : excl | READ_MASK, depth);
  }
  return true;
}

function inconsistent(
  ld: LockdepCore,
  t: Thread,
  h: HeldLock,
  cls: LockClass,
  prevBit: number,
  newBit: number,
  depth: number,
): false {
  const a = USAGE_STR[prevBit]!;
  const b = USAGE_STR[newBit]!;
  const pair = [a, b].sort().join('/');
  const classes = ld.classesOf(t);
  ld.report(t, `lockdep.inconsistent:${cls.name}:${pair}`, {
    rule: 'lockdep.inconsistent',
    severity: 'lockdep',
    headline: 'WARNING: inconsistent lock state',
    body: inconsistentBody(ld.runOf(t.kernel), t, h, cls, prevBit, newBit, t.held, classes, depth),
    data: {
      lock: lockData(h, cls),
      from: a,
      to: b,
      registered: siteData(cls.usageSites[prevBit] ?? null),
      held: heldData(t.held, classes, depth),
    },
    stacks: [
      { label: `taking ${h.map.name} {${b}}`, thread: t.name, step: h.step, stack: h.stack },
      siteStack(`{${a}} state registered`, cls.usageSites[prevBit]),
    ],
  });
  return false;
}

/** `print_irq_inversion_bug`: `cls` just changed state; `other` is the conflicting class found by the search. */
function inversion(
  ld: LockdepCore,
  t: Thread,
  h: HeldLock,
  cls: LockClass,
  other: BfsNode,
  forwards: boolean,
  bit: number,
  depth: number,
): false {
  const irqclass = stateName(bit);
  const classes = ld.classesOf(t);
  const path = pathTo(other);
  const middle = path[1];
  const safe = forwards ? cls : other.cls;
  const unsafe = forwards ? other.cls : cls;
  const scenario = forwards
    ? irqScenario(cls, other.cls, middle ? middle.cls : cls, other.cls)
    : irqScenario(other.cls, cls, middle ? middle.cls : other.cls, cls);
  ld.report(t, `lockdep.irq_inversion:${safe.name}:${unsafe.name}:${irqKindName(bit)}`, {
    rule: 'lockdep.irq_inversion',
    severity: 'lockdep',
    headline: 'WARNING: possible irq lock inversion dependency detected',
    body:
      `${t.name}/${t.id} ${irqStateText(t)} just changed the state of lock:\n ${heldText(t, h, cls)}\n` +
      (forwards
        ? `but this lock took another, ${irqclass}-unsafe lock in the past:\n`
        : `but this lock was taken by another, ${irqclass}-safe lock in the past:\n`) +
      ` ${classLabel(other.cls)}\n\n\nand interrupts could create inverse lock ordering between them.\n\n\n` +
      `other info that might help us debug this:\n${scenario}${heldListText(t, t.held, classes, depth)}\n\n` +
      `the shortest dependencies between 2nd lock and 1st lock:\n${shortestPathText(other, !forwards, ld.runOf(t.kernel))}`,
    data: {
      lock: lockData(h, cls),
      other: classData(other.cls),
      irq: irqclass,
      safe: safe.name,
      unsafe: unsafe.name,
      path: path.map((n) => n.cls.name),
      held: heldData(t.held, classes, depth),
    },
  });
  return false;
}

/**
 * `check_irq_usage`: the new edge prev → next must not connect a class that
 * is IRQ-safe (anything that leads to prev) with one that is IRQ-unsafe
 * (anything next leads to). Returns false when reported.
 */
export function checkIrqUsage(
  ld: LockdepCore,
  t: Thread,
  idx: number,
  prev: HeldLock,
  pcls: LockClass,
  next: HeldLock,
  ncls: LockClass,
): boolean {
  const g = ld.graph;
  let acc = 0;
  bfs(g, pcls, prev.read !== 0, true, (n) => {
    acc |= n.onlyXr ? n.cls.usage & LOCKF_IRQ : n.cls.usage;
    return false;
  });
  acc &= LOCKF_USED_IN_IRQ_ALL;
  if (acc === 0) return true;
  const fmask = exclusiveMask(acc);
  const unsafeHit = bfs(g, ncls, next.read === 2, false, (n) => usageMatch(n, fmask));
  if (!unsafeHit) return true;
  const bmask = originalMask(unsafeHit.cls.usage & LOCKF_ENABLED_IRQ_ALL);
  const safeHit = bfs(g, pcls, prev.read !== 0, true, (n) => usageMatch(n, bmask));
  if (!safeHit) return true;
  const bits = findExclusiveMatch(safeHit.cls.usage, unsafeHit.cls.usage);
  if (!bits) return true;
  const [safeBit, unsafeBit] = bits;
  const irqclass = stateName(safeBit);
  const safe = safeHit.cls;
  const unsafe = unsafeHit.cls;
  const run = ld.runOf(t.kernel);
  const classes = ld.classesOf(t);
  const safeAt = safe.usageSites[safeBit];
  const unsafeAt = unsafe.usageSites[unsafeBit];
  ld.report(t, `lockdep.safe_to_unsafe:${safe.name}:${unsafe.name}:${irqKindName(safeBit)}`, {
    rule: 'lockdep.safe_to_unsafe',
    severity: 'lockdep',
    headline: `WARNING: ${irqclass}-safe -> ${irqclass}-unsafe lock order detected`,
    body:
      `${t.name}/${t.id} ${irqStateText(t)} is trying to acquire:\n ${heldText(t, next, ncls)}\n\n` +
      `and this task is already holding:\n ${heldText(t, prev, pcls)}\n` +
      `which would create a new lock dependency:\n ${classLabel(pcls)} -> ${classLabel(ncls)}\n\n` +
      `but this new dependency connects a ${irqclass}-irq-safe lock:\n ${classLabel(safe)}\n\n` +
      `... which became ${irqclass}-irq-safe at:\n  ${safeAt ? siteText(safeAt, run) : '?'}\n\n` +
      `to a ${irqclass}-irq-unsafe lock:\n ${classLabel(unsafe)}\n\n` +
      `... which became ${irqclass}-irq-unsafe at:\n...  ${unsafeAt ? siteText(unsafeAt, run) : '?'}\n\n` +
      `other info that might help us debug this:\n\n${irqScenario(safe, unsafe, pcls, ncls)}` +
      `${heldListText(t, t.held, classes, idx)}\n\n` +
      `the dependencies between ${irqclass}-irq-safe lock and the holding lock:\n${shortestPathText(safeHit, true, run)}\n\n` +
      `the dependencies between the lock to be acquired and ${irqclass}-irq-unsafe lock:\n${shortestPathText(unsafeHit, false, run)}`,
    data: {
      acquiring: lockData(next, ncls),
      holding: lockData(prev, pcls),
      irq: irqclass,
      safe: { ...classData(safe), bit: USAGE_STR[safeBit], at: siteData(safeAt ?? null) },
      unsafe: { ...classData(unsafe), bit: USAGE_STR[unsafeBit], at: siteData(unsafeAt ?? null) },
      held: heldData(t.held, classes, idx),
    },
    stacks: [
      { label: `acquiring ${next.map.name}`, thread: t.name, step: next.step, stack: next.stack },
      siteStack(`${safe.name} became ${irqclass}-irq-safe`, safeAt),
      siteStack(`${unsafe.name} became ${irqclass}-irq-unsafe`, unsafeAt),
    ],
  });
  return false;
}

/**
 * The texts of the race detector's and KASAN's reports, in the kernel's
 * formats: `BUG: KCSAN: data-race in A / B` with both accesses, and `BUG:
 * KASAN: slab-use-after-free in F` with the access and the allocation and
 * free sites.
 *
 * @kernel kernel/kcsan/report.c (print_report, get_access_type), mm/kasan/report.c (print_report, describe_object)
 */
import { Access } from '../kernel/index.ts';
import type { AccessKind, MemLoc, SplatInput, Thread } from '../kernel/index.ts';
import type { AccessRec, FreeRec, Life } from './race-types.ts';

/**
 * KCSAN's access type text (`get_access_type`).
 *
 * @kernel get_access_type (kernel/kcsan/report.c)
 */
export function accessTypeText(kind: AccessKind): string {
  switch (kind) {
    case Access.READ:
      return 'read';
    case Access.WRITE:
      return 'write';
    case Access.READ_ONCE:
      return 'read (marked)';
    case Access.WRITE_ONCE:
      return 'write (marked)';
    case Access.ATOMIC_RMW:
      return 'read-write (marked)';
  }
}

/**
 * True for accesses that write.
 *
 * @kernel KCSAN_ACCESS_WRITE test
 */
export function isWrite(kind: AccessKind): boolean {
  return kind === Access.WRITE || kind === Access.WRITE_ONCE || kind === Access.ATOMIC_RMW;
}

/**
 * A thread's name without the `#n` suffix of repeated names (for dedup keys).
 *
 * @kernel none: report dedup key
 */
export function baseName(t: Thread | null): string {
  if (!t) return 'timer';
  const i = t.name.lastIndexOf('#');
  return i > 0 ? t.name.slice(0, i) : t.name;
}

/**
 * The function an access is reported in, for titles: the kernel function,
 * else the accessing task. Never the source site: a run replayed with stack
 * capture must produce the same reports (the sites are in the body and the
 * backtraces).
 *
 * @kernel none: report text, the function names KCSAN titles its reports with
 */
export function accessLabel(a: Pick<AccessRec, 'fn' | 'thread'>): string {
  return a.fn ?? baseName(a.thread);
}

/** `task 3 (submitter)` or `interrupt (irq/4, hardirq)`, as KCSAN's `get_thread_desc`. */
function threadDesc(t: Thread): string {
  return t.context === 'process' ? `task ${t.id} (${t.name})` : `interrupt (${t.name}, ${t.context})`;
}

function when(a: { step: number; timeNs: number }): string {
  return `step ${a.step}, ${(a.timeNs / 1e6).toFixed(3)} ms`;
}

function frames(a: { fn: string | null; site: string | null }, stacks: boolean): string {
  const lines: string[] = [];
  if (a.fn) lines.push(` ${a.fn}`);
  if (a.site) lines.push(` ${a.site}`);
  else if (!stacks) lines.push(' (run with --stacks for the source site)');
  return lines.join('\n');
}

function accessBlock(loc: MemLoc, a: AccessRec, stacks: boolean): string {
  return (
    `${accessTypeText(a.kind)} to ${loc.name} of ${loc.size} bytes by ${threadDesc(a.thread)}:\n` +
    `${frames(a, stacks)}\n at ${when(a)}`
  );
}

/**
 * `BUG: KCSAN: data-race in A / B`: `prev` (remembered) and `cur` (this
 * access) conflict, at least one is plain, and no happens-before edge orders
 * them. The two function names are ordered as KCSAN orders them
 * (lexicographically), so the title is the same whichever ran first.
 *
 * @kernel print_report (kernel/kcsan/report.c)
 */
export function kcsanSplat(loc: MemLoc, prev: AccessRec, cur: AccessRec, stacks: boolean): SplatInput {
  const a = accessLabel(prev);
  const b = accessLabel(cur);
  const [first, second] = a <= b ? [a, b] : [b, a];
  const t = cur.thread;
  return {
    rule: 'kcsan.data_race',
    severity: 'bug',
    headline: `BUG: KCSAN: data-race in ${first} / ${second}`,
    body:
      `${accessBlock(loc, prev, stacks)}\n\n${accessBlock(loc, cur, stacks)}\n\n` +
      'No lock, fence, completion, work item or other synchronisation orders these two accesses ' +
      '(no happens-before edge between them), so on two CPUs they can overlap, whichever ran first in this run.\n\n' +
      `Reported by Kernel Concurrency Sanitizer on:\nCPU: 0 PID: ${t.id} Comm: ${t.name} (${t.context})`,
    thread: t,
    // The kernel adds the reporting thread's current stack (this access) itself.
    stacks: [{ label: `${accessTypeText(prev.kind)} to ${loc.name} (the other access)`, thread: prev.thread.name, step: prev.step, stack: prev.stack }],
    data: {
      location: loc.name,
      accesses: [prev, cur].map((x) => ({
        type: accessTypeText(x.kind),
        thread: x.thread.name,
        context: x.thread.context,
        fn: x.fn,
        site: x.site,
        step: x.step,
        timeNs: x.timeNs,
      })),
    },
  };
}

function allocBlock(life: Life, stacks: boolean): string {
  const who = life.thread ? `task ${life.thread.id} (${life.thread.name})` : 'scenario setup';
  return `Allocated by ${who}:\n${frames({ fn: life.info.fn, site: life.site }, stacks)}\n at ${when(life)}`;
}

function freeBlock(f: FreeRec, stacks: boolean): string {
  const who = f.thread ? `task ${f.thread.id} (${f.thread.name})` : 'a timer';
  return `Freed by ${who}:\n${frames(f, stacks)}\n at ${when(f)}`;
}

/**
 * `BUG: KASAN: slab-use-after-free in F`. `raced` says how the access and
 * the free relate in this run: `after` (the access ran after the free),
 * `unordered-after` (after it, and not ordered after it either: a race as
 * well), `before` (the access ran first but nothing orders it before the
 * free, so on another schedule it runs after).
 *
 * @kernel print_report (mm/kasan/report.c)
 */
export function kasanSplat(
  loc: MemLoc,
  a: AccessRec,
  life: Life,
  free: FreeRec,
  relation: 'after' | 'unordered-after' | 'before',
  stacks: boolean,
): SplatInput {
  const t = a.thread;
  const note =
    relation === 'before'
      ? `The access ran before the free in this run, but no happens-before edge orders it before the free: ` +
        `on another CPU it can run after ${free.fn} (the race form of this use after free).`
      : relation === 'unordered-after'
        ? `The access ran after the free, and nothing orders it after the free either: a race with ${free.fn}.`
        : `The access ran after ${free.fn} freed the object.`;
  return {
    rule: 'kasan.slab_use_after_free',
    severity: 'bug',
    headline: `BUG: KASAN: slab-use-after-free in ${accessLabel(a)}`,
    body:
      `${isWrite(a.kind) ? 'Write' : 'Read'} of size ${loc.size} at addr ${loc.name} by task ${t.name}/${t.id} (${t.context})\n` +
      `${frames(a, stacks)}\n at ${when(a)}\n${note}\n\n` +
      `${allocBlock(life, stacks)}\n\n${freeBlock(free, stacks)}\n\n` +
      `The buggy address belongs to the object ${life.info.what}\n which belongs to the cache kmalloc-${life.info.size} of size ${life.info.size}`,
    thread: t,
    stacks: [
      ...(relation === 'before' ? [{ label: `${accessTypeText(a.kind)} of ${loc.name} (not ordered before the free)`, thread: t.name, step: a.step, stack: a.stack }] : []),
      { label: `allocated ${life.info.what}`, thread: life.thread?.name ?? null, step: life.step, stack: life.stack },
      { label: `freed ${life.info.what} (${free.fn})`, thread: free.thread?.name ?? null, step: free.step, stack: free.stack },
    ],
    data: {
      object: life.info.what,
      location: loc.name,
      access: { type: accessTypeText(a.kind), thread: t.name, fn: a.fn, site: a.site, step: a.step },
      allocated: { thread: life.thread?.name ?? null, fn: life.info.fn, site: life.site },
      freed: { thread: free.thread?.name ?? null, fn: free.fn, site: free.site, step: free.step },
      relation,
    },
  };
}

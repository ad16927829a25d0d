import type { KernelLimits } from './run-types.ts';
import type { HeldLock, LockdepMap } from './lockdep-map.ts';
import type { SplatInput } from './splat.ts';
import type { Thread } from './thread.ts';

/**
 * The texts of the kernel core's own reports: deadlock, run limits,
 * might_sleep / scheduling while atomic, bad unlock balance. Kept apart from
 * the scheduler so its file holds only scheduling.
 */

/** The held-lock list as lockdep prints it (` #0: (name), at: site`). */
export function describeHeld(t: Thread): string {
  return t.held
    .map(
      (h, i) =>
        ` #${i}: (${h.map.name})${h.read ? (h.read === 2 ? '{R}' : '{r}') : ''}${h.site ? `, at: ${h.site}` : ''}`,
    )
    .join('\n');
}

/** The "in_atomic(): 1, irqs_disabled(): 0 ..." block of might_sleep reports. */
export function atomicState(t: Thread): string {
  return (
    `in_atomic(): ${t.preemptCount > 0 || t.context !== 'process' ? 1 : 0}, irqs_disabled(): ${t.irqsDisabled > 0 || t.context === 'hardirq' ? 1 : 0}, ` +
    `non_block: 0, pid: ${t.id}, name: ${t.name}\npreempt_count: ${t.preemptCount.toString(16)}, expected: 0\n` +
    `RCU nest depth: ${t.rcuReadDepth}, expected: 0\ncontext: ${t.context}\n` +
    (t.held.length
      ? `${t.held.length} lock${t.held.length > 1 ? 's' : ''} held by ${t.name}:\n${describeHeld(t)}`
      : 'no locks held')
  );
}

/** "BUG: scheduling while atomic": `t` awaited `op` while atomic. */
export function schedulingWhileAtomicSplat(t: Thread, op: string): SplatInput {
  return {
    rule: 'sched.scheduling_while_atomic',
    severity: 'bug',
    headline: `BUG: scheduling while atomic: ${t.name}/${t.id}/0x${t.preemptCount.toString(16).padStart(8, '0')}`,
    body: `awaited ${op}\n${atomicState(t)}`,
    thread: t,
    data: { op },
  };
}

/** Every non-daemon thread blocked, nothing runnable, no timer: who waits on what, held by whom. */
export function deadlockSplat(blocked: readonly Thread[]): SplatInput {
  // A thread waiting for a lock already has it on its lockdep stack; do not list it as held.
  const heldBy = (t: Thread): HeldLock[] => t.held.filter((h) => h.map !== t.blocker?.lockMap);
  const lines = blocked.map((t) => {
    const held = heldBy(t);
    const owners = t.blocker?.owners() ?? [];
    const by = owners.length ? `held by ${owners.map((o) => o.name).join(', ')}` : 'no known owner';
    return (
      `  ${t.name} blocked in ${t.op} on ${t.blocker?.describe() ?? '?'} (${by})` +
      (held.length ? `\n    holding: ${held.map((h) => h.map.name).join(', ')}` : '') +
      detailLines(t, '    ')
    );
  });
  return {
    rule: 'sched.deadlock',
    severity: 'bug',
    headline: `INFO: task deadlock: ${blocked.length} thread${blocked.length > 1 ? 's' : ''} blocked forever, nothing runnable and no timer pending`,
    body: `Blocked threads:\n${lines.join('\n')}`,
    thread: null,
    data: {
      threads: blocked.map((t) => ({
        thread: t.name,
        op: t.op,
        waitsOn: t.blocker?.describe() ?? null,
        owners: (t.blocker?.owners() ?? []).map((o) => o.name),
        holding: heldBy(t).map((h) => h.map.name),
        ...(t.blocker?.detail ? { detail: t.blocker.detail() } : {}),
      })),
    },
  };
}

/** The blocker's detail lines (the fences a wait is stuck on), indented. */
function detailLines(t: Thread, indent: string): string {
  const d = t.blocker?.detail?.() ?? [];
  return d.map((l) => `\n${indent}${l}`).join('');
}

/** The run hit its step or virtual-time limit. */
export function limitSplat(
  reason: 'step-limit' | 'time-limit',
  limits: KernelLimits,
  threads: readonly Thread[],
): SplatInput {
  const what =
    reason === 'step-limit'
      ? `the step limit (${limits.maxSteps} scheduling steps)`
      : `the virtual-time limit (${limits.maxVirtualTimeNs / 1e9} s)`;
  const live = threads.filter((t) => t.state !== 'exited');
  const alive = live.map((t) => `${t.name} (${t.state} in ${t.op})`);
  // Who waits on what, with the details a wait gives (the fences, their expected signallers, their last event).
  const waits = live
    .filter((t) => t.state === 'blocked' && t.blocker && !(t.daemon && t.blocker.detail === undefined))
    .map((t) => `  ${t.name} waits in ${t.op} on ${t.blocker!.describe()}${detailLines(t, '    ')}`);
  return {
    rule: 'run.limit',
    severity: 'info',
    headline: `run stopped at ${what}`,
    body: `Threads still alive: ${alive.join(', ') || 'none'}` + (waits.length ? `\nWaiting:\n${waits.join('\n')}` : ''),
    thread: null,
    data: {
      waiting: live
        .filter((t) => t.state === 'blocked' && t.blocker?.detail !== undefined)
        .map((t) => ({ thread: t.name, op: t.op, on: t.blocker!.describe(), detail: t.blocker!.detail?.() ?? [] })),
    },
  };
}

/** "WARNING: bad unlock balance detected!" */
export function unlockImbalanceSplat(t: Thread, map: LockdepMap, site: string | null): SplatInput {
  return {
    rule: 'lockdep.bad_unlock_balance',
    severity: 'lockdep',
    headline: 'WARNING: bad unlock balance detected!',
    body:
      `${t.name}/${t.id} is trying to release lock (${map.name}) at:\n${site ?? '(enable stack capture for the site)'}\n` +
      `but there are no more locks to release!\n\nother info that might help us debug this:\n` +
      `${t.held.length} locks held by ${t.name}:\n${describeHeld(t)}`,
    thread: t,
  };
}

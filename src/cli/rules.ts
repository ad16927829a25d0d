/**
 * Rule explanations for `dmabuf-lab explain`: the checker layer's catalogue
 * (`ruleCatalogue`, `explainRule` from `src/check/rules.ts`), normalized for
 * printing, with a small fallback for kernel-core rules it does not list.
 */
import { explainRule, ruleCatalogue } from '../check/index.ts';

/** One rule as `explain` prints it. */
export interface RuleText {
  readonly id: string;
  readonly title: string;
  readonly text: string;
  /** The kernel function or documentation the rule comes from. */
  readonly source: string;
}

const FALLBACK: readonly RuleText[] = [
  {
    id: 'sched.deadlock',
    title: 'every thread is blocked, nothing is runnable and no timer is pending',
    text: 'The run cannot go on: each listed thread waits for something (a lock, a wait queue, a completion, a fence) that only another blocked thread could provide. The report lists what each thread waits on, who holds it, and what it holds itself. In the kernel this shows up as hung tasks.',
    source:
      'kernel/hung_task.c (check_hung_task), the "INFO: task ... blocked for more than N seconds" report',
  },
  {
    id: 'sched.might_sleep',
    title: 'a sleeping function was called from atomic context',
    text: 'A function that may sleep (mutex_lock, msleep, a GFP_KERNEL allocation, a fence wait) was called while the thread held a spinlock, had interrupts or preemption disabled, was inside an RCU read-side section, or ran in IRQ/softirq context. Move the call out of the atomic section, or use the non-sleeping variant (GFP_ATOMIC, trylock).',
    source:
      '__might_sleep (kernel/sched/core.c), "BUG: sleeping function called from invalid context"',
  },
  {
    id: 'sched.scheduling_while_atomic',
    title: 'a thread awaited (scheduled) while atomic',
    text: 'The thread reached a scheduling point (awaited a kernel operation) while in atomic context. In the kernel, schedule() with a non-zero preempt count is a bug that can deadlock the CPU. Release the spinlock / re-enable interrupts before anything that sleeps.',
    source: '__schedule_bug (kernel/sched/core.c), "BUG: scheduling while atomic"',
  },
  {
    id: 'run.limit',
    title: 'the run stopped at its step or virtual-time limit',
    text: 'The simulation reached --max-steps or --max-time-ms before every thread finished. Either the scenario needs more (raise the limit) or a thread polls forever without the condition it waits for ever becoming true (a livelock). Never a clean run.',
    source: 'dmabuf-lab run limits (no kernel counterpart)',
  },
  {
    id: 'lockdep.exit_with_locks',
    title: 'a thread exited with locks held',
    text: 'A kthread or work item returned while still holding locks. Every path out of the function must release what it took.',
    source:
      'debug_check_no_locks_held (kernel/locking/lockdep.c), "BUG: ... exited with locks held!"',
  },
  {
    id: 'lockdep.bad_unlock_balance',
    title: 'a lock was released that the thread does not hold',
    text: 'An unlock without a matching lock in this thread: a double unlock, an unlock on an error path that never locked, or an unlock by a thread other than the owner.',
    source:
      'print_unlock_imbalance_bug (kernel/locking/lockdep.c), "WARNING: bad unlock balance detected!"',
  },
];

/** Normalize whatever shape the checker layer gives a rule into `RuleText`. */
function toRuleText(v: unknown, fallbackId: string): RuleText | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return { id: fallbackId, title: '', text: v, source: '' };
  if (typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  const pick = (...keys: string[]): string => {
    for (const k of keys) if (typeof o[k] === 'string') return o[k];
    return '';
  };
  return {
    id: pick('id', 'rule') || fallbackId,
    title: pick('title', 'summary', 'headline', 'name'),
    text: pick('explanation', 'text', 'description', 'details', 'body'),
    source: pick('kernel', 'source', 'reference', 'docs', 'link'),
  };
}

function idOf(r: unknown): string {
  if (typeof r !== 'object' || r === null) return '';
  const o = r as { id?: unknown; rule?: unknown };
  return typeof o.id === 'string' ? o.id : typeof o.rule === 'string' ? o.rule : '';
}

/** Every known rule, sorted by id (the checker layer's catalogue plus the fallback for ids it lacks). */
export function allRules(): RuleText[] {
  const byId = new Map<string, RuleText>();
  const cat: unknown = ruleCatalogue;
  const entries: [string, unknown][] = Array.isArray(cat)
    ? (cat as unknown[]).map((r) => [idOf(r), r])
    : cat instanceof Map
      ? [...(cat as Map<string, unknown>).entries()]
      : cat && typeof cat === 'object'
        ? Object.entries(cat)
        : [];
  for (const [id, r] of entries) {
    const t = toRuleText(r, id);
    if (t && t.id) byId.set(t.id, t);
  }
  for (const r of FALLBACK) if (!byId.has(r.id)) byId.set(r.id, r);
  return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
}

/** The explanation of `id`, or null when no layer knows it. */
export function explainRuleText(id: string): RuleText | null {
  const t = toRuleText(explainRule(id), id);
  if (t && (t.text || t.title)) return t;
  return allRules().find((r) => r.id === id) ?? null;
}

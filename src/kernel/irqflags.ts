import type { Kernel } from './kernel.ts';
import type { Thread } from './thread.ts';

/** `SOFTIRQ_DISABLE_OFFSET`: what `local_bh_disable` adds to the preempt count. */
export const SOFTIRQ_DISABLE_OFFSET = 0x200;

function underflow(k: Kernel, what: string): void {
  k.splat({
    rule: 'sched.preempt_count_underflow',
    severity: 'warn',
    headline: `WARNING: ${what} underflow (DEBUG_LOCKS_WARN_ON)`,
    body: `${k.current.name} re-enabled more than it disabled`,
  });
}

/**
 * Tell the validator about IRQ-state transitions of `t`: call after any
 * change of `irqsDisabled` / `bhDisabled`, with the state before it. An
 * off → on transition of hard IRQs (`trace_hardirqs_on`) or soft IRQs
 * (`lockdep_softirqs_on`) makes lockdep mark every lock still held as
 * acquired with that IRQ enabled (`mark_held_locks`).
 *
 * @kernel lockdep_hardirqs_on_prepare, lockdep_softirqs_on (kernel/locking/lockdep.c)
 */
export function irqStateChanged(t: Thread, hardWasOn: boolean, softWasOn: boolean): void {
  const v = t.kernel.validator;
  if (v === null || v.irqsOn === undefined) return;
  const hard = !hardWasOn && t.hardirqsEnabled;
  const soft = !softWasOn && t.softirqsEnabled;
  if (hard || soft) v.irqsOn(t, hard, soft);
}

/**
 * `local_irq_save`: disable hard interrupts on this CPU; returns the flags
 * for `localIrqRestore`. Any context.
 *
 * @kernel local_irq_save
 */
export function localIrqSave(k: Kernel): number {
  const t = k.current;
  const flags = t.irqsDisabled;
  t.irqsDisabled++;
  return flags;
}

/** `local_irq_restore`: restore the state saved by `localIrqSave`. @kernel local_irq_restore */
export function localIrqRestore(k: Kernel, flags: number): void {
  const t = k.current;
  const hard = t.hardirqsEnabled;
  const soft = t.softirqsEnabled;
  t.irqsDisabled = flags;
  irqStateChanged(t, hard, soft);
}

/** `local_irq_disable`. @kernel local_irq_disable */
export function localIrqDisable(k: Kernel): void {
  k.current.irqsDisabled++;
}

/** `local_irq_enable`: enables interrupts whatever the nesting (it does not nest in the kernel either). @kernel local_irq_enable */
export function localIrqEnable(k: Kernel): void {
  const t = k.current;
  const hard = t.hardirqsEnabled;
  const soft = t.softirqsEnabled;
  t.irqsDisabled = 0;
  irqStateChanged(t, hard, soft);
}

/** `irqs_disabled()`: true in hardirq context or with interrupts off. @kernel irqs_disabled */
export function irqsDisabled(k: Kernel): boolean {
  return !k.current.hardirqsEnabled;
}

/**
 * `local_bh_disable`: disable softirqs; raises the preempt count by
 * `SOFTIRQ_DISABLE_OFFSET`, so the section is atomic (might_sleep reports).
 *
 * @kernel local_bh_disable
 */
export function localBhDisable(k: Kernel): void {
  const t = k.current;
  t.bhDisabled++;
  t.preemptCount += SOFTIRQ_DISABLE_OFFSET;
}

const bhEnableWarned = new WeakSet<Kernel>();

/**
 * The common tail of `local_bh_enable` and `spin_unlock_bh`
 * (`__local_bh_enable_ip`) once the caller dropped its preempt-count share:
 * `lockdep_assert_irqs_enabled()` WARNs (once) when hard IRQs are disabled,
 * and with lockdep's CONFIG_TRACE_IRQFLAGS the function ends with
 * `local_irq_enable()`, so the caller continues with IRQs enabled whatever
 * it had before. Without lockdep neither happens. Then softirqs are on
 * again (lockdep marks the locks still held).
 *
 * @kernel __local_bh_enable_ip (kernel/softirq.c)
 */
export function bhEnableIp(k: Kernel, t: Thread): void {
  const hard = t.hardirqsEnabled;
  const soft = t.softirqsEnabled;
  if (k.validator !== null && t.context !== 'hardirq' && t.irqsDisabled > 0) {
    if (!bhEnableWarned.has(k)) {
      bhEnableWarned.add(k);
      k.splat({
        rule: 'lockdep.assert_irqs_enabled',
        severity: 'warn',
        headline: `WARNING: CPU: 0 PID: ${t.id} at kernel/softirq.c __local_bh_enable_ip (lockdep_assert_irqs_enabled())`,
        body:
          `${t.name} re-enabled bottom halves (local_bh_enable / spin_unlock_bh) with hard IRQs disabled; ` +
          '__local_bh_enable_ip may run pending softirqs and ends with local_irq_enable(), so IRQs are enabled from here on',
        thread: t,
      });
    }
    t.irqsDisabled = 0;
  }
  t.bhDisabled--;
  irqStateChanged(t, hard, soft);
}

/**
 * `local_bh_enable`. Softirqs raised meanwhile run as separate contexts, at
 * the chooser's pick. With lockdep, calling it with hard IRQs disabled WARNs
 * and leaves IRQs enabled (see `bhEnableIp`).
 *
 * @kernel local_bh_enable
 */
export function localBhEnable(k: Kernel): void {
  const t = k.current;
  if (t.bhDisabled === 0 || t.preemptCount < SOFTIRQ_DISABLE_OFFSET) {
    underflow(k, 'local_bh_enable');
    return;
  }
  t.preemptCount -= SOFTIRQ_DISABLE_OFFSET;
  bhEnableIp(k, t);
}

/** `preempt_disable`: atomic until `preemptEnable`. @kernel preempt_disable */
export function preemptDisable(k: Kernel): void {
  k.current.preemptCount++;
}

/** `preempt_enable`. An enable without a disable is a WARN. @kernel preempt_enable */
export function preemptEnable(k: Kernel): void {
  const t = k.current;
  if ((t.preemptCount & 0xff) === 0) {
    underflow(k, 'preempt_count');
    return;
  }
  t.preemptCount--;
}

/** `in_atomic()`: preempt count raised (spinlock, preempt/bh disabled, IRQ context). @kernel in_atomic */
export function inAtomic(k: Kernel): boolean {
  const t = k.current;
  return t.preemptCount > 0 || t.context !== 'process';
}

/** `in_interrupt()`: hardirq or softirq context, or bottom halves disabled. @kernel in_interrupt */
export function inInterrupt(k: Kernel): boolean {
  const t = k.current;
  return t.context !== 'process' || t.bhDisabled > 0;
}

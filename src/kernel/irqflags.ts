import type { Kernel } from './kernel.ts';

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
  k.current.irqsDisabled = flags;
}

/** `local_irq_disable`. @kernel local_irq_disable */
export function localIrqDisable(k: Kernel): void {
  k.current.irqsDisabled++;
}

/** `local_irq_enable`: enables interrupts whatever the nesting (it does not nest in the kernel either). @kernel local_irq_enable */
export function localIrqEnable(k: Kernel): void {
  k.current.irqsDisabled = 0;
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

/** `local_bh_enable`. Softirqs raised meanwhile run as separate contexts, at the chooser's pick. @kernel local_bh_enable */
export function localBhEnable(k: Kernel): void {
  const t = k.current;
  if (t.bhDisabled === 0 || t.preemptCount < SOFTIRQ_DISABLE_OFFSET) {
    underflow(k, 'local_bh_enable');
    return;
  }
  t.bhDisabled--;
  t.preemptCount -= SOFTIRQ_DISABLE_OFFSET;
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

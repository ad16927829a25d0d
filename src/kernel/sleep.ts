import { signedTimeout, U32_MAX, wholeArg } from './args.ts';
import { WOULD_SLEEP } from './kernel.ts';
import type { Kernel } from './kernel.ts';
import type { Blocker, Thread } from './thread.ts';

const sleeping: Blocker = { describe: () => 'sleep (timer)', owners: () => [] };

/**
 * `msleep`: sleep at least `ms` milliseconds of virtual time (the kernel adds
 * one jiffy so the sleep is never short). Process context. In code that
 * cannot sleep (`Kernel.sleeping`) it is reported and takes no time.
 *
 * @kernel msleep (kernel/time/sleep_timeout.c)
 */
export function msleep(k: Kernel, ms: number): Promise<void> {
  wholeArg('msleep(k, ms)', 'ms', ms, 'of milliseconds (unsigned int)', U32_MAX);
  return k.sleeping('msleep', () => undefined, () => msleepSlow(k, ms));
}

async function msleepSlow(k: Kernel, ms: number): Promise<void> {
  const t = k.current;
  k.mightSleep('msleep');
  const deadline = k.nowNs + k.jiffiesToNs(k.msecsToJiffies(ms) + 1);
  while (k.nowNs < deadline) {
    await k.block(t, sleeping, 'msleep', { timeoutNs: deadline - k.nowNs });
  }
}

/**
 * `usleep_range`: sleep between `minUs` and `maxUs`; the model always wakes
 * at `minUs` (no timer slack coalescing). Process context.
 *
 * @kernel usleep_range_state
 */
export function usleepRange(k: Kernel, minUs: number, maxUs: number): Promise<void> {
  wholeArg('usleepRange(k, minUs, maxUs)', 'minUs', minUs, 'of microseconds (unsigned long)');
  wholeArg('usleepRange(k, minUs, maxUs)', 'maxUs', maxUs, 'of microseconds (unsigned long)');
  if (maxUs < minUs) return Promise.reject(new Error(`usleepRange: max (${maxUs}) is below min (${minUs})`));
  return k.sleeping('usleep_range', () => undefined, () => usleepSlow(k, minUs));
}

async function usleepSlow(k: Kernel, minUs: number): Promise<void> {
  const t = k.current;
  k.mightSleep('usleep_range');
  const deadline = k.nowNs + minUs * 1000;
  while (k.nowNs < deadline) {
    await k.block(t, sleeping, 'usleep_range', { timeoutNs: deadline - k.nowNs });
  }
}

/**
 * `schedule_timeout`: sleep until woken (`Kernel.wake`) or `timeoutJiffies`
 * pass. Returns 0 if the timeout elapsed, else the remaining jiffies. With
 * `interruptible` a signal ends the sleep early (returns the remaining time).
 *
 * @kernel schedule_timeout (after set_current_state)
 */
export function scheduleTimeout(
  k: Kernel,
  timeoutJiffies: number,
  opts: { interruptible?: boolean; on?: Blocker } = {},
): Promise<number> {
  timeoutJiffies = signedTimeout(k, 'scheduleTimeout(k, timeoutJiffies)', 'timeoutJiffies', timeoutJiffies);
  return k.sleeping(
    'schedule_timeout',
    () => WOULD_SLEEP,
    () => scheduleTimeoutSlow(k, timeoutJiffies, opts),
    timeoutJiffies === Number.POSITIVE_INFINITY ? undefined : () => 0,
  );
}

async function scheduleTimeoutSlow(
  k: Kernel,
  timeoutJiffies: number,
  opts: { interruptible?: boolean; on?: Blocker },
): Promise<number> {
  const t: Thread = k.current;
  k.mightSleep('schedule_timeout');
  const startNs = k.nowNs;
  const timeoutNs = k.jiffiesToNs(timeoutJiffies);
  const why = await k.block(t, opts.on ?? sleeping, 'schedule_timeout', {
    timeoutNs,
    interruptible: opts.interruptible ?? false,
  });
  if (why === 'timeout') return 0;
  if (timeoutJiffies === Number.POSITIVE_INFINITY) return timeoutJiffies;
  const leftNs = startNs + timeoutNs - k.nowNs;
  return Math.max(0, Math.ceil((leftNs * k.hz) / 1e9));
}

/** `cond_resched`: a voluntary scheduling point (none where the caller cannot sleep). @kernel cond_resched */
export function condResched(k: Kernel): Promise<void> {
  return k.sleeping('cond_resched', () => undefined, async () => {
    k.mightSleep('cond_resched');
    await k.schedulePoint('cond_resched', null);
  });
}

/**
 * The fence rules the model checks beyond the kernel's own WARNs:
 *
 * (The rules judged from events alone, seqno order per context among them,
 * are consumers of the event stream in `event-rules/`, shared with
 * `dmabuf-lab trace-check`.)
 * - `fence.signalled_early`: a fence signals without an error while its
 *   driver's ground truth (`DmaFenceOps.hwCompleted`) says the work has not
 *   completed.
 * - `fence.indefinite`: at the end of a run, a fence that is still
 *   referenced and unsignalled although someone depends on it: a thread
 *   blocked waiting on it (the default wait going to sleep, a driver wait
 *   op, `dma_fence_wait_any_timeout` sleeping), or it was published where
 *   others can wait (exported as a sync_file, or `dmaFencePublish` by the
 *   resv / syncobj layers). Fences nobody waited on or published may stay
 *   pending (test objects, fences torn down unsignalled), and a released
 *   fence cannot be waited on any more (releasing one with callbacks queued
 *   is `fence.released_with_pending_signals`). Zero-timeout polls are not
 *   waits. One report per run lists them all.
 *
 * A second signal is not a rule here: the kernel returns -EINVAL silently
 * (a trace showing two signals is `fence.signalled_twice`, in `event-rules/`).
 */
import type { Kernel, SplatSeverity } from '../kernel/index.ts';
import type { DmaFence } from './forward.ts';
import { MODEL_OBSERVED, SIGNALED } from './flags.ts';
import { fenceState } from './state.ts';

/**
 * `driver:timeline:context:seqno`, the way the kernel's fence WARNs name a fence.
 *
 * @kernel none: report text, in the order the dma_fence tracepoints print driver, timeline, context and seqno
 */
export function fenceName(f: DmaFence): string {
  return `${f.ops.getDriverName(f)}:${f.ops.getTimelineName(f)}:${f.context}:${f.seqno}`;
}

/** Report a fence rule violation (a WARN unless `severity` says otherwise). */
export function fenceSplat(
  k: Kernel,
  rule: string,
  headline: string,
  body: string,
  data?: Record<string, unknown>,
  severity: SplatSeverity = 'warn',
): void {
  k.splat({ rule, severity, headline, body, ...(data ? { data } : {}) });
}

// ------------------------------------------------------- signalled early

/**
 * The driver's model-only ground truth says the work behind `f` has not
 * completed, yet `f` signals without an error: a waiter would proceed too
 * early. (The kernel cannot see this; the simulated hardware can.)
 */
export function checkSignalledEarly(f: DmaFence): void {
  const ops = f.ops;
  if (!ops.hwCompleted || f.error !== 0 || ops.hwCompleted(f)) return;
  fenceSplat(
    f.kernel,
    'fence.signalled_early',
    `BUG: fence ${fenceName(f)} signalled before its hardware work completed`,
    `The fence signalled without an error while the device has not completed the work it stands for; ` +
      `anything ordered after it (reads of the buffer, reuse of memory) can run too early.\n` +
      `This usually means the driver's completion check compared seqnos with the wrong rule.`,
    { context: f.context, seqno: f.seqno },
    'bug',
  );
}

// ----------------------------------------------------- indefinite fences

/**
 * Mark `f` as something another party depends on (waited on, exported in a
 * sync_file, stored in a reservation object): if it is still unsignalled at
 * the end of the run, `fence.indefinite` is reported.
 */
export function markObserved(f: DmaFence): void {
  if ((f.flags & (SIGNALED | MODEL_OBSERVED)) !== 0) return;
  f.flags |= MODEL_OBSERVED;
  const k = f.kernel;
  const s = fenceState(k);
  s.observed.add(f);
  if (!s.endCheckArmed) {
    s.endCheckArmed = true;
    k.addEndCheck(() => {
      reportIndefinite(k);
    });
  }
}

/**
 * Model hook for other layers: `f` was published where others can wait on it
 * (a reservation object, a syncobj, a sync_file). If it is still unsignalled
 * at the end of the run, `fence.indefinite` is reported. Any context.
 *
 * @kernel none: model hook for the indefinite-fence check, which the kernel does not have
 */
export function dmaFencePublish(f: DmaFence): void {
  markObserved(f);
}

/** `f` signalled or was released: it can no longer be indefinite. */
export function unobserve(f: DmaFence): void {
  f.flags &= ~MODEL_OBSERVED;
  fenceState(f.kernel).observed.delete(f);
}

function reportIndefinite(k: Kernel): void {
  const left = [...fenceState(k).observed].filter(
    (f) => (f.flags & SIGNALED) === 0 && f.refcount.refcount > 0,
  );
  if (left.length === 0) return;
  fenceSplat(
    k,
    'fence.indefinite',
    `INFO: ${left.length} fence${left.length > 1 ? 's' : ''} never signalled`,
    'Fences that were waited on or published (sync_file, reservation object) were still unsignalled at the end of the run.\n' +
      'Fences must complete in bounded time; work that may run forever needs a timeout and recovery that force-signals with an error.\n' +
      left
        .slice(0, 32)
        .map((f) => `  ${fenceName(f)}`)
        .join('\n') +
      (left.length > 32 ? `\n  ... and ${left.length - 32} more` : ''),
    {
      fences: left.map((f) => ({
        context: f.context,
        seqno: f.seqno,
        driver: f.ops.getDriverName(f),
      })),
    },
  );
}

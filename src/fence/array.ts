import { INT_MAX, IrqWork, irqWorkQueue, wholeArg } from '../kernel/index.ts';
import type { Kernel, Thread } from '../kernel/index.ts';
import { fenceAlloc } from './alloc.ts';
import { DmaFenceCb } from './callback.ts';
import { dmaFenceIsChain } from './chain.ts';
import { DmaFence } from './fence.ts';
import type { DmaFenceOps } from './ops.ts';
import { dmaFenceSignallers } from './signaller.ts';
import { ENABLE_SIGNAL } from './flags.ts';
import { fenceSplat } from './rules.ts';

/** The private "no error seen yet" value of an unsignalled array's `error`. */
const PENDING_ERROR = 1;

/** `struct dma_fence_array_cb`: one member callback. */
class DmaFenceArrayCb extends DmaFenceCb {
  constructor(readonly array: DmaFenceArray) {
    super();
  }
}

/** `dma_fence_array_set_pending_error`: keep the first non-zero member error (cmpxchg from the sentinel). */
function setPendingError(array: DmaFenceArray, error: number): void {
  if (error !== 0 && array.error === PENDING_ERROR) array.error = error;
}

/** `dma_fence_array_clear_pending_error`: sentinel → 0 if no error was recorded. */
function clearPendingError(array: DmaFenceArray): void {
  if (array.error === PENDING_ERROR) array.error = 0;
}

/** The array's irq_work (`array->work`). */
class DmaFenceArrayWork extends IrqWork {
  constructor(readonly array: DmaFenceArray) {
    super(array.kernel, arrayWorkFunc, 'dma_fence_array');
  }
}

/** `irq_dma_fence_array_work`: clear the sentinel, signal, drop the callback's reference. */
function arrayWorkFunc(w: IrqWork): void {
  if (!(w instanceof DmaFenceArrayWork)) return;
  const array = w.array;
  clearPendingError(array);
  array.signal();
  array.put();
}

/** `dma_fence_array_cb_func`: runs under the member's lock; the last pending member queues the irq_work. */
function arrayCbFunc(f: DmaFence, cb: DmaFenceCb): void {
  if (!(cb instanceof DmaFenceArrayCb)) return;
  const array = cb.array;
  setPendingError(array, f.error);
  if (--array.numPending === 0) {
    irqWorkQueue((array.work ??= new DmaFenceArrayWork(array)));
  } else {
    array.put();
  }
}

/**
 * `dma_fence_array_ops`: driver "dma_fence_array", timeline "unbound".
 *
 * @kernel dma_fence_array_ops (drivers/dma-buf/dma-fence-array.c)
 */
export const dmaFenceArrayOps: DmaFenceOps<DmaFenceArray> = {
  getDriverName: () => 'dma_fence_array',
  getTimelineName: () => 'unbound',
  lockClass: 'dma_fence_array.lock',

  /**
   * Arm a callback on every member in order (each holding an array
   * reference); a member already signalled folds its error in and counts
   * down at once. False (signal now) when nothing is left pending.
   */
  enableSignaling(array) {
    for (let i = 0; i < array.numFences; i++) {
      const cb = array.callbacks[i]!;
      array.get();
      const member = array.fences[i]!;
      if (member.addCallback(cb, arrayCbFunc) !== 0) {
        setPendingError(array, member.error);
        array.put();
        if (--array.numPending === 0) {
          clearPendingError(array);
          return false;
        }
      }
    }
    return true;
  },

  /** With signalling enabled: signalled iff nothing is pending; else poll the members. */
  signaled(array) {
    let numPending = array.numPending;
    let done = false;
    if ((array.flags & ENABLE_SIGNAL) !== 0) {
      done = numPending <= 0;
    } else {
      for (let i = 0; i < array.numFences && !done; i++) {
        if (array.fences[i]!.isSignaled() && !--numPending) done = true;
      }
    }
    if (done) clearPendingError(array);
    return done;
  },

  release(array) {
    for (const f of array.fences) f.put();
  },

  setDeadline(array, deadlineNs) {
    for (const f of array.fences) f.setDeadline(deadlineNs);
  },

  signallers(array) {
    const out: Thread[] = [];
    for (const f of array.fences) {
      if (f.signalled) continue;
      for (const t of dmaFenceSignallers(f)) if (!out.includes(t)) out.push(t);
    }
    return out;
  },
};

/**
 * `struct dma_fence_array`: waits for all members (or any, with
 * `signalOnAny`). Its `error` holds a private pending sentinel (1) until it
 * signals with the first member error seen, or 0. Members must not be
 * containers (flatten first). Allocate with `dmaFenceArrayAlloc` and init
 * with `dmaFenceArrayInit`, or use `dmaFenceArrayCreate`.
 *
 * @kernel struct dma_fence_array (include/linux/dma-fence-array.h)
 */
export class DmaFenceArray extends DmaFence {
  numFences = 0;
  /** `num_pending` (an atomic in the kernel). */
  numPending = 0;
  fences: DmaFence[] = [];
  readonly callbacks: DmaFenceArrayCb[] = [];
  /** @internal `work`, created when first queued. */
  work: IrqWork | null = null;

  /** @internal use `dmaFenceArrayAlloc`. */
  constructor(k: Kernel, numFences: number) {
    super(k, dmaFenceArrayOps, null, 0, 0, 0, false);
    for (let i = 0; i < numFences; i++) this.callbacks.push(new DmaFenceArrayCb(this));
  }
}

/**
 * `dma_fence_array_alloc(n)`: an uninitialised array with `n` callback slots; null on OOM. Process context (GFP_KERNEL).
 *
 * @kernel dma_fence_array_alloc
 */
export function dmaFenceArrayAlloc(k: Kernel, numFences: number): DmaFenceArray | null {
  wholeArg('dmaFenceArrayAlloc(k, numFences)', 'numFences', numFences, '(int)', INT_MAX);
  if (!fenceAlloc(k, 64 + numFences * 40, 'dma_fence_array_alloc')) return null;
  return new DmaFenceArray(k, numFences);
}

/**
 * `dma_fence_array_init`: WARN if `numFences` is 0 or `fences` missing; init
 * the base (32-bit seqno) on the array's own lock; `numPending` = 1 with
 * `signalOnAny`, else `numFences`; error = pending sentinel; WARN
 * (`fence.array_nested_container`) for every member that is an array or a
 * chain. Takes over `fences` and one reference per member. Any context
 * (allocation-free, usable in the signalling path).
 *
 * @kernel dma_fence_array_init
 */
export function dmaFenceArrayInit(
  array: DmaFenceArray,
  numFences: number,
  fences: DmaFence[],
  context: number,
  seqno: number,
  signalOnAny: boolean,
): void {
  const k = array.kernel;
  if (!numFences || !Array.isArray(fences))
    fenceSplat(k, 'fence.invalid_argument', 'WARNING: dma_fence_array_init() without fences', '');
  array.numFences = numFences;
  array.init(dmaFenceArrayOps, null, context, seqno, 0);
  array.numPending = signalOnAny ? 1 : numFences;
  array.fences = fences;
  array.error = PENDING_ERROR;
  for (let i = numFences - 1; i >= 0; i--) {
    const f = fences[i];
    if (f && dmaFenceIsContainer(f)) {
      fenceSplat(
        k,
        'fence.array_nested_container',
        'WARNING: dma_fence_array_init() with a container member',
        `member ${i} is a ${dmaFenceIsArray(f) ? 'dma_fence_array' : 'dma_fence_chain'}; containers must be flattened (dma_fence_unwrap) to avoid recursion`,
      );
    }
  }
}

/**
 * `dma_fence_array_create`: alloc + init; null on OOM (the caller then keeps
 * ownership of `fences`). Process context.
 *
 * @kernel dma_fence_array_create
 */
export function dmaFenceArrayCreate(
  k: Kernel,
  numFences: number,
  fences: DmaFence[],
  context: number,
  seqno: number,
  signalOnAny: boolean,
): DmaFenceArray | null {
  const array = dmaFenceArrayAlloc(k, numFences);
  if (!array) return null;
  dmaFenceArrayInit(array, numFences, fences, context, seqno, signalOnAny);
  return array;
}

/**
 * `dma_fence_is_array`: identity of the ops table.
 *
 * @kernel dma_fence_is_array
 */
export function dmaFenceIsArray(f: DmaFence): f is DmaFenceArray {
  return f.ops === (dmaFenceArrayOps as DmaFenceOps);
}

/**
 * `to_dma_fence_array`: the array, or null for any other fence.
 *
 * @kernel to_dma_fence_array
 */
export function toDmaFenceArray(f: DmaFence | null): DmaFenceArray | null {
  return f !== null && dmaFenceIsArray(f) ? f : null;
}

/**
 * `dma_fence_is_container`: an array or a chain.
 *
 * @kernel dma_fence_is_container
 */
export function dmaFenceIsContainer(f: DmaFence): boolean {
  return dmaFenceIsArray(f) || dmaFenceIsChain(f);
}

/**
 * `dma_fence_match_context`: a plain fence of `context`, or an array whose members all are.
 *
 * @kernel dma_fence_match_context
 */
export function dmaFenceMatchContext(f: DmaFence, context: number): boolean {
  const array = toDmaFenceArray(f);
  if (!array) return f.context === context;
  for (let i = 0; i < array.numFences; i++) if (array.fences[i]!.context !== context) return false;
  return true;
}

/**
 * `dma_fence_array_first`: null → null, a non-array → itself, an empty array → null, else member 0.
 *
 * @kernel dma_fence_array_first
 */
export function dmaFenceArrayFirst(head: DmaFence | null): DmaFence | null {
  if (head === null) return null;
  const array = toDmaFenceArray(head);
  if (!array) return head;
  if (!array.numFences) return null;
  return array.fences[0]!;
}

/**
 * `dma_fence_array_next`: member `index`, or null past the end or for a non-array.
 *
 * @kernel dma_fence_array_next
 */
export function dmaFenceArrayNext(head: DmaFence | null, index: number): DmaFence | null {
  const array = toDmaFenceArray(head);
  if (!array || index >= array.numFences) return null;
  return array.fences[index]!;
}

/**
 * `dma_fence_array_for_each`: the members (or the fence itself); no references taken.
 *
 * @kernel dma_fence_array_for_each
 */
export function* dmaFenceArrayForEach(head: DmaFence | null): Generator<DmaFence> {
  let i = 0;
  for (let f = dmaFenceArrayFirst(head); f !== null; f = dmaFenceArrayNext(head, ++i)) yield f;
}

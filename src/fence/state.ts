import { installEventRules } from '../check/index.ts';
import type { Kernel, SpinLock } from '../kernel/index.ts';
import { FENCE_EVENT_RULES } from './event-rules/index.ts';
import type { DmaFence } from './forward.ts';

/**
 * Everything the fence layer keeps per kernel: the context counter (the
 * kernel's global `dma_fence_context_counter`, per simulated kernel so runs
 * are independent and replayable), the stub fence, trace ids and the
 * checkers' registries.
 *
 * @kernel dma_fence_context_counter
 */
export interface FenceKernelState {
  nextContext: number;
  nextId: number;
  stub: DmaFence | null;
  stubLock: SpinLock | null;
  /** Unsignalled fences that were waited on or published (the indefinite-fence check). */
  readonly observed: Set<DmaFence>;
  endCheckArmed: boolean;
  /** Trace ids, assigned on first mention in an event. */
  readonly ids: WeakMap<DmaFence, number>;
}

const states = new WeakMap<Kernel, FenceKernelState>();

/**
 * The fence state of kernel `k`, created on first use; creating it installs
 * the rule book's fence consumers (seqno order, signal once, waits) on the
 * kernel's event stream.
 */
export function fenceState(k: Kernel): FenceKernelState {
  let s = states.get(k);
  if (!s) {
    s = {
      nextContext: 1,
      nextId: 1,
      stub: null,
      stubLock: null,
      observed: new Set(),
      endCheckArmed: false,
      ids: new WeakMap(),
    };
    states.set(k, s);
    installEventRules(k, 'fence', FENCE_EVENT_RULES);
  }
  return s;
}

/** Trace id of `f` (stable for the run; assigned in order of first mention, so replays agree). */
export function fenceId(f: DmaFence): number {
  const s = fenceState(f.kernel);
  let id = s.ids.get(f);
  if (id === undefined) {
    id = s.nextId++;
    s.ids.set(f, id);
  }
  return id;
}

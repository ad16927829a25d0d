/**
 * A display pipeline with the DRM atomic commit helpers: a CRTC with a
 * vblank interrupt and out-fences, and the helper's commit tail, which
 * annotates everything up to `commit_hw_done` as a fence signalling section
 * (the CRTC out-fence and the vblank event cannot signal before the
 * hardware has been programmed), so a display driver's hooks get the same
 * lockdep checks as a GPU's `run_job` without writing the annotation.
 *
 * @kernel drivers/gpu/drm/drm_atomic_helper.c (commit_tail, drm_atomic_helper_commit_tail), drm_vblank.c
 */
import { dmaFenceBeginSignalling, dmaFenceEndSignalling } from '../check/index.ts';
import { DmaFence, dmaFenceContextAlloc, dmaFencePublish } from '../fence/index.ts';
import type { DmaFenceOps } from '../fence/index.ts';
import {
  Completion,
  Errno,
  GFP_KERNEL,
  IRQ_HANDLED,
  kzalloc,
  queueWork,
  raiseIrq,
  requestIrq,
  SpinLock,
  systemUnboundWq,
  WorkStruct,
} from '../kernel/index.ts';
import type { Awaitable, Kernel } from '../kernel/index.ts';

type TimerEntry = ReturnType<Kernel['addTimer']>;

/** `drm_crtc_fence_ops`: driver = the device, timeline = the CRTC. */
const crtcFenceOps: DmaFenceOps = {
  getDriverName: () => 'drm_crtc',
  getTimelineName: () => 'crtc',
};

/**
 * `struct drm_crtc` with its vblank machinery: a vblank interrupt every
 * `periodNs` while events are armed, a fence context for out-fences, and
 * `event_lock`. Events armed by `atomic_flush` complete (their out-fence
 * signals) at the next vblank.
 *
 * @kernel struct drm_crtc, drm_crtc_handle_vblank, drm_crtc_arm_vblank_event, drm_crtc_send_vblank_event, drm_crtc_create_fence
 */
export class DrmCrtc {
  /** `dev->event_lock`: taken with IRQs off around vblank events. */
  readonly eventLock: SpinLock;
  /** `crtc->fence_lock`, the out-fences' lock. */
  readonly fenceLock: SpinLock;
  readonly fenceContext: number;
  fenceSeqno = 0;
  /** `drm_crtc_vblank_count`. */
  vblankCount = 0;
  private armed: DmaFence[] = [];
  private vblankTimer: TimerEntry | null = null;

  constructor(
    readonly kernel: Kernel,
    readonly name: string,
    /** The display controller's interrupt line. */
    readonly irq: number,
    /** Refresh period (default 60 Hz). */
    readonly periodNs = 16_666_667,
  ) {
    this.eventLock = new SpinLock(kernel, '&dev->event_lock', { key: 'drm_device.event_lock' });
    this.fenceLock = new SpinLock(kernel, '&crtc->fence_lock', { key: 'drm_crtc.fence_lock' });
    this.fenceContext = dmaFenceContextAlloc(kernel, 1);
    const r = requestIrq(kernel, irq, () => {
      this.handleVblank();
      return IRQ_HANDLED;
    }, `${name}-vblank`);
    if (r) throw new Error(`request_irq(${irq}) for ${name} failed: ${r}`);
  }

  /**
   * `drm_crtc_create_fence`: the next out-fence of this CRTC (OUT_FENCE_PTR),
   * created while the commit is set up (process context, before the point
   * of no return), so the allocation is outside the signalling section.
   * Null on allocation failure.
   */
  createFence(): DmaFence | null {
    if (this.kernel.currentOrNull && !kzalloc(this.kernel, 96, GFP_KERNEL, 'drm_crtc_create_fence')) return null;
    const f = new DmaFence(this.kernel, crtcFenceOps, this.fenceLock, this.fenceContext, ++this.fenceSeqno);
    dmaFencePublish(f);
    return f;
  }

  /**
   * `drm_crtc_arm_vblank_event`: complete `outFence` at the next vblank
   * (from the driver's `atomic_flush`; the caller holds `eventLock` with IRQs
   * off, or the helper takes it). Turns the vblank interrupt on.
   */
  armVblankEvent(outFence: DmaFence): void {
    this.armed.push(outFence.get());
    this.vblankOn();
  }

  /** The next vblank instant after now. */
  private nextVblankNs(): number {
    const k = this.kernel;
    return (Math.floor(k.nowNs / this.periodNs) + 1) * this.periodNs;
  }

  private vblankOn(): void {
    if (this.vblankTimer) return;
    const k = this.kernel;
    this.vblankTimer = k.addTimer(this.nextVblankNs(), `${this.name}:vblank`, () => {
      this.vblankTimer = null;
      raiseIrq(k, this.irq);
    });
  }

  /**
   * `drm_crtc_handle_vblank` (the vblank interrupt, a threadable device
   * IRQ): count the vblank and send every armed event, signalling its
   * out-fence (`drm_crtc_send_vblank_event`) under `event_lock`.
   */
  private handleVblank(): void {
    this.vblankCount++;
    const flags = this.eventLock.lockIrqsave();
    const due = this.armed;
    this.armed = [];
    for (const f of due) f.signal();
    this.eventLock.unlockIrqrestore(flags);
    for (const f of due) f.put();
    if (this.armed.length > 0) this.vblankOn();
  }
}

/**
 * The part of `struct drm_atomic_state` a commit needs here: the CRTC, the
 * planes' new framebuffers and in-fences (IN_FENCE_FD), the CRTC's out-fence
 * (OUT_FENCE_PTR), and `commit->hw_done` / `commit->cleanup_done`.
 *
 * @kernel struct drm_atomic_state, struct drm_crtc_commit
 */
export class DrmAtomicState {
  /** `commit->hw_done`: the hardware was programmed (`drm_atomic_helper_commit_hw_done`). */
  readonly hwDone: Completion;
  /** `commit->cleanup_done`. */
  readonly cleanupDone: Completion;

  constructor(
    readonly crtc: DrmCrtc,
    /** One entry per plane updated: the framebuffer (driver data) and its in-fence, if any (a reference). */
    readonly planes: { fb: unknown; fence: DmaFence | null }[],
    /** The out-fence from `crtc.createFence()`, or null without OUT_FENCE_PTR (a reference). */
    public outFence: DmaFence | null = null,
  ) {
    this.hwDone = new Completion(crtc.kernel, 'commit->hw_done');
    this.cleanupDone = new Completion(crtc.kernel, 'commit->cleanup_done');
  }
}

/**
 * A display driver's hooks (`drm_crtc_helper_funcs`, `drm_plane_helper_funcs`,
 * `drm_mode_config_helper_funcs`), the parts the commit tail calls. All but
 * `atomicCommitTail` run inside the helper's fence signalling section: no
 * GFP_KERNEL allocation, no dma_resv lock, no lock that is held elsewhere
 * around a fence wait.
 */
export interface DrmDisplayFuncs {
  /** `crtc->atomic_disable` (`drm_atomic_helper_commit_modeset_disables`). */
  atomicDisable?(state: DrmAtomicState): Awaitable<void>;
  /** `plane->atomic_update` for each plane (`drm_atomic_helper_commit_planes`). */
  atomicUpdate(state: DrmAtomicState, plane: number): Awaitable<void>;
  /** `crtc->atomic_enable` (`drm_atomic_helper_commit_modeset_enables`). */
  atomicEnable?(state: DrmAtomicState): Awaitable<void>;
  /**
   * `crtc->atomic_flush`: latch the update. Default: arm the vblank event
   * for the out-fence under `event_lock`.
   */
  atomicFlush?(state: DrmAtomicState): Awaitable<void>;
  /** `plane->cleanup_fb` after the flip (`drm_atomic_helper_cleanup_planes`), outside the section. */
  cleanupFb?(state: DrmAtomicState, plane: number): Awaitable<void>;
  /**
   * `mode_config.helper_private->atomic_commit_tail`: a driver's own tail
   * instead of `drmAtomicHelperCommitTail`; it must annotate itself with
   * `dma_fence_begin_signalling` as the helper does (tidss, komeda, malidp).
   */
  atomicCommitTail?(state: DrmAtomicState): Awaitable<void>;
}

/**
 * `drm_atomic_helper_wait_for_fences`: wait for every plane's in-fence
 * (uninterruptibly) and drop it. Outside the signalling section: waiting
 * here is allowed. Process context.
 *
 * @kernel drm_atomic_helper_wait_for_fences
 */
export async function drmAtomicHelperWaitForFences(state: DrmAtomicState): Promise<void> {
  for (const p of state.planes) {
    if (!p.fence) continue;
    await p.fence.wait(false);
    p.fence.put();
    p.fence = null;
  }
}

/** The default `atomic_flush`: arm the vblank event for the out-fence. */
function defaultFlush(state: DrmAtomicState): void {
  if (!state.outFence) return;
  const crtc = state.crtc;
  const flags = crtc.eventLock.lockIrqsave();
  crtc.armVblankEvent(state.outFence);
  crtc.eventLock.unlockIrqrestore(flags);
}

/**
 * `drm_atomic_helper_commit_tail`: modeset disables, plane updates, modeset
 * enables (with the CRTC flush), `commit_hw_done`, all inside
 * `dma_fence_begin_signalling()` / `dma_fence_end_signalling()`; then wait
 * for the flip (vblank) and clean up the planes outside it. Process context.
 *
 * @kernel drm_atomic_helper_commit_tail
 */
export async function drmAtomicHelperCommitTail(state: DrmAtomicState, funcs: DrmDisplayFuncs): Promise<void> {
  const k = state.crtc.kernel;
  const cookie = dmaFenceBeginSignalling(k);
  if (funcs.atomicDisable) await funcs.atomicDisable(state);
  for (let i = 0; i < state.planes.length; i++) await funcs.atomicUpdate(state, i);
  if (funcs.atomicEnable) await funcs.atomicEnable(state);
  if (funcs.atomicFlush) await funcs.atomicFlush(state);
  else defaultFlush(state);
  drmAtomicHelperCommitHwDone(state);
  dmaFenceEndSignalling(k, cookie);
  await drmAtomicHelperWaitForFlipDone(state);
  for (let i = 0; i < state.planes.length; i++) if (funcs.cleanupFb) await funcs.cleanupFb(state, i);
}

/** `drm_atomic_helper_commit_hw_done`: the hardware is programmed; later commits may proceed. @kernel drm_atomic_helper_commit_hw_done */
export function drmAtomicHelperCommitHwDone(state: DrmAtomicState): void {
  state.hwDone.completeAll();
}

/**
 * `drm_atomic_helper_wait_for_flip_done`: wait (up to 10 s, as the helper)
 * for the out-fence, i.e. the vblank that latched the update.
 *
 * @kernel drm_atomic_helper_wait_for_flip_done
 */
export async function drmAtomicHelperWaitForFlipDone(state: DrmAtomicState): Promise<void> {
  const f = state.outFence;
  if (!f) return;
  await f.waitTimeout(false, state.crtc.kernel.msecsToJiffies(10_000));
}

/**
 * `commit_tail`: wait for the in-fences, run the driver's tail or the
 * helper's, then mark cleanup done and drop the commit's out-fence
 * reference. Process context (the caller, or the nonblocking commit work).
 *
 * @kernel commit_tail (drivers/gpu/drm/drm_atomic_helper.c)
 */
export async function drmAtomicCommitTail(state: DrmAtomicState, funcs: DrmDisplayFuncs): Promise<void> {
  await drmAtomicHelperWaitForFences(state);
  if (funcs.atomicCommitTail) await funcs.atomicCommitTail(state);
  else await drmAtomicHelperCommitTail(state, funcs);
  state.cleanupDone.completeAll();
  state.outFence?.put();
  state.outFence = null;
}

/**
 * `drm_atomic_helper_commit(dev, state, nonblock)`: commit `state` (whose
 * out-fence, if any, the caller already created and published). Blocking:
 * runs the tail in the caller. Nonblocking: queues it on
 * `system_unbound_wq` and returns 0 at once. -ENOMEM if the commit work
 * cannot be allocated. Process context.
 *
 * @kernel drm_atomic_helper_commit
 */
export async function drmAtomicHelperCommit(state: DrmAtomicState, funcs: DrmDisplayFuncs, nonblock: boolean): Promise<number> {
  const k = state.crtc.kernel;
  if (!kzalloc(k, 256, GFP_KERNEL, 'drm_atomic_helper_setup_commit')) return -Errno.ENOMEM;
  // The point of no return: everything below never fails.
  if (!nonblock) {
    await drmAtomicCommitTail(state, funcs);
    return 0;
  }
  const work = new WorkStruct(k, () => drmAtomicCommitTail(state, funcs), `commit_work(${state.crtc.name})`, { key: 'drm_atomic_state.commit_work' });
  queueWork(systemUnboundWq(k), work);
  return 0;
}

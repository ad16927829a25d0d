/**
 * Catalogue entries of the race detector, KASAN and the rules that came with
 * them (issue 10): data races, use after free, sleeping in atomic callbacks,
 * fence lifetime and unwrap checks, locks held on return to user space.
 * `rules.ts` merges them into the one catalogue `explain` prints.
 */

/** id, title, explanation, kernel origin (the shape of `rules.ts` entries). */
export type RuleEntry = readonly [id: string, title: string, explanation: string, kernel: string];

export const RACE_RULES: readonly RuleEntry[] = [
  ['kcsan.data_race', 'data race: two unordered conflicting accesses',
    'Two accesses to the same memory, at least one a write and at least one plain (not READ_ONCE/WRITE_ONCE, atomic or an RCU accessor), are not ordered by any synchronisation: no lock held by both, no fence signal seen by the reader, no completion, work item, wake-up, IRQ or RCU grace period in between. The model runs one thread at a time, so the two never overlapped in this run, but the race detector judges from the history (vector clocks, as ThreadSanitizer and FastTrack do): on two CPUs they can overlap, whichever ran first and however far apart they ran. Both accesses are shown with thread, context and, with --stacks, the source line. Fix: protect the field with the lock the other side takes, publish it before the synchronising call (queue_work, dma_fence_signal, complete), or mark both sides (READ_ONCE/WRITE_ONCE) if the race is intended. Two marked accesses never race (KCSAN\'s strict rule: a plain access racing with a marked one is reported).',
    'kernel/kcsan/ (CONFIG_KCSAN, CONFIG_KCSAN_STRICT), report.c: "BUG: KCSAN: data-race in A / B"; Documentation/dev-tools/kcsan.rst'],
  ['kasan.slab_use_after_free', 'use after free (KASAN)',
    'Freed memory was accessed: a kfree\'d driver struct, a scheduler job after free_job returned, a dma_resv after dma_resv_fini, a ww_acquire_ctx after ww_acquire_fini, a lock inside freed memory, a fence freed while callbacks were still queued. The report gives the access and the allocation and free sites. The same id is used for the race form: an access by another thread that ran before the free in this run but is not ordered before it (no happens-before edge), so on another schedule it runs after: typically touching a job after drm_sched_entity_push_job, when free_job may already run. Take a reference, or order the access before the free (do it before the publishing call, or under the lock the freeing path takes).',
    'mm/kasan/report.c (CONFIG_KASAN): "BUG: KASAN: slab-use-after-free in F", "Allocated by task", "Freed by task"'],
  ['lockdep.held_on_return_to_user', 'lock held when returning to user space',
    'A system call (an ioctl, poll) returned to user space with a lock, a pseudo-lock or a ww_acquire_ctx it took still held. The next system call of the process, or any other task, may then block forever on it. Every path out of the syscall must release what it took.',
    'lockdep_sys_exit, print_lock_held_returning... (kernel/locking/lockdep.c): "WARNING: lock held when returning to user space!"'],
  ['fence.put_uninitialized', 'put of a fence that was never initialised',
    'dma_fence_put on a fence allocated (dma_fence_array_alloc, dma_fence_chain_alloc, a driver\'s kzalloc) but never given to dma_fence_init. Its refcount was never set, so the kernel reports a refcount underflow and the release path would run on an object with no ops. Free an uninitialised container with its _free function (dma_fence_array_free, dma_fence_chain_free) or kfree.',
    'dma_fence_put, kref_put, refcount_warn_saturate (lib/refcount.c): "refcount_t: underflow; use-after-free."'],
  ['fence.release_uninitialized', 'fence released before it was initialised',
    'The release path (dma_fence_release, the ops->release of the fence) ran on a fence that dma_fence_init never initialised: fence->ops is NULL in the kernel, a NULL pointer dereference. Usually an error path that drops a reference it never took.',
    'dma_fence_release (drivers/dma-buf/dma-fence.c)'],
  ['fence.unwrap_merge_invariant', 'dma_fence_unwrap_merge result breaks its invariants',
    'The result of dma_fence_unwrap_merge must hold at most one fence per context (the latest), sorted by context, and no signalled fence unless it is the stub. A result that keeps two fences of one context, or an older one, grows without bound when a driver merges a timeline\'s fences over and over (a sync_file accumulating every point), and waits on work that already completed. Checked as a debug rule on every merge.',
    'dma_fence_dedup_array, __dma_fence_unwrap_merge (drivers/dma-buf/dma-fence-unwrap.c)'],
];

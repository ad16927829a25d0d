/**
 * The simulated kernel: threads and contexts, the scheduler and its chooser,
 * virtual time, timers, wait queues, locks (spinlock, rwlock, mutex, rwsem,
 * ww_mutex, counting semaphores), allocation, kref, errno and the
 * event stream. Every other layer runs on it.
 */
export * from './errno.ts';
export * from './args.ts';
export * from './time-text.ts';
export * from './prng.ts';
export * from './chooser.ts';
export * from './events.ts';
export * from './splat.ts';
export * from './thread.ts';
export * from './lockdep-map.ts';
export * from './lock-validator.ts';
export * from './hb.ts';
export type { TimerEntry } from './timer-heap.ts';
export * from './stack.ts';
export * from './kernel.ts';
export * from './spinlock.ts';
export * from './mutex.ts';
export * from './waitqueue.ts';
export * from './sleep.ts';
export * from './timer.ts';
export * from './alloc.ts';
export * from './kmem.ts';
export * from './kref.ts';
export * from './rwsem.ts';
export * from './rwlock.ts';
export * from './semaphore.ts';
export * from './ww-mutex.ts';
export * from './workqueue.ts';
export * from './delayed-work.ts';
export * from './system-wq.ts';
export * from './irq.ts';
export * from './irqflags.ts';
export * from './irq-work.ts';
export * from './rcu.ts';
export * from './workqueue-flush.ts';
export * from './awaitable.ts';
export { hostTurn } from './host.ts';

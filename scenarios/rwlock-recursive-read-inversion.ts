/**
 * A display controller's driver keeps its state under an rwlock_t and its
 * command FIFO under a spinlock. The vblank interrupt handler reads the
 * state, then pushes to the FIFO (state_lock -> fifo_lock). The submit path
 * holds the FIFO lock and then reads the state (fifo_lock -> state_lock).
 *
 * Both sides only read-lock state_lock, which looks harmless: readers share.
 * But on kernels with queued rwlocks (x86, arm64, ...) a reader in process
 * context queues behind a waiting writer: CPU0 (submit) holds fifo_lock and
 * waits in read_lock behind CPU2's queued write_lock (reconfigure), which
 * waits for CPU1's vblank handler to drop its read hold, which spins on
 * fifo_lock. Lockdep sees the interrupt's reader as recursive (read = 2) and
 * the process reader as non-recursive (read = 1), so the cycle
 * state_lock -(SN)-> fifo_lock -(EN)-> state_lock is a strong path and it
 * reports it, from the history, on every schedule.
 *
 * (With locking-selftest's force_read_lock_recursive, or on architectures
 * without queued rwlocks, both readers are recursive and nothing is
 * reported; the model defaults to queued rwlocks.)
 *
 * Expectation: `lockdep.circular` on every seed.
 */
import { defineScenario } from '../src/scenario/index.ts';
import { IRQ_HANDLED, msleep, raiseIrq, requestIrq, RwLock, SpinLock } from '../src/kernel/index.ts';

const VBLANK_IRQ = 44;

export default defineScenario({
  name: 'rwlock-recursive-read-inversion',
  description: 'an IRQ reader and a process reader of one rwlock_t take a spinlock in opposite orders: a deadlock with a queued writer',
  expect: { verdict: 'splat', rules: ['lockdep.circular'] },
  setup(k, ctx) {
    const stateLock = new RwLock(k, '&dpu->state_lock');
    const fifoLock = new SpinLock(k, '&dpu->fifo_lock');
    let mode = 0;
    let fifo = 0;
    requestIrq(k, VBLANK_IRQ, () => {
      stateLock.readLock();
      fifoLock.lock();
      fifo++;
      fifoLock.unlock();
      stateLock.readUnlock();
      return IRQ_HANDLED;
    }, 'dpu-vblank');
    k.kthreadRun('display-hw', async () => {
      for (let i = 0; i < 3; i++) {
        await msleep(k, 16);
        raiseIrq(k, VBLANK_IRQ);
      }
    });
    k.kthreadRun('submit', async () => {
      for (let i = 0; i < 3; i++) {
        const flags = fifoLock.lockIrqsave();
        stateLock.readLock(); // BUG: state_lock must come first, as in the IRQ handler
        fifo++;
        stateLock.readUnlock();
        fifoLock.unlockIrqrestore(flags);
        await msleep(k, 10);
      }
      ctx.note(`FIFO commands pushed: ${fifo} (mode ${mode})`);
    });
    k.kthreadRun('reconfigure', async () => {
      await msleep(k, 25);
      const flags = stateLock.writeLockIrqsave();
      mode = 1;
      stateLock.writeUnlockIrqrestore(flags);
    });
  },
});

/**
 * The fix of `rwlock-recursive-read-inversion`: the submit path takes
 * state_lock before fifo_lock, the order the vblank handler uses, so a
 * reader queued behind a writer never holds the FIFO lock. Both readers
 * run with interrupts off (the FIFO lock is also taken in the handler).
 *
 * Expectation: clean.
 */
import { defineScenario } from '../src/scenario/index.ts';
import { IRQ_HANDLED, localIrqRestore, localIrqSave, msleep, raiseIrq, requestIrq, RwLock, SpinLock } from '../src/kernel/index.ts';

const VBLANK_IRQ = 44;

export default defineScenario({
  name: 'rwlock-recursive-read-inversion-fixed',
  description: 'the submit path read-locks the rwlock_t before the spinlock, in the IRQ handler\'s order: clean',
  expect: { verdict: 'clean' },
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
        const flags = localIrqSave(k);
        stateLock.readLock();
        fifoLock.lock();
        fifo++;
        fifoLock.unlock();
        stateLock.readUnlock();
        localIrqRestore(k, flags);
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

/**
 * Plain accesses to driver state shared with an interrupt handler. The
 * completion interrupt copies the engine's seqno into `ring->last_seqno`
 * and stores the command's result; the submit path polls `last_seqno` to
 * see whether its command completed, then reads the result. Both sides use
 * plain loads and stores: the compiler may tear, fuse or reorder them, and
 * the reader may see the new seqno before the result is written (on another
 * CPU nothing orders the two stores). Drivers mark such fields
 * (READ_ONCE/WRITE_ONCE, or smp_store_release / smp_load_acquire when data
 * is published with them) or keep them under the ring lock.
 *
 * The handler always runs between two polls here, so nothing ever goes
 * wrong in the run; the race detector reports the race on every schedule
 * from the accesses' history.
 *
 * Expectation: `kcsan.data_race` on every seed.
 */
import { defineScenario } from '../src/scenario/index.ts';
import { Engine } from '../src/hw/index.ts';
import { IRQ_HANDLED, kstruct, msleep, requestIrq } from '../src/kernel/index.ts';

export default defineScenario({
  name: 'driver-state-data-race',
  description: 'an IRQ handler and the submit path share ring->last_seqno and ring->result with plain accesses',
  expect: { verdict: 'splat', rules: ['kcsan.data_race'] },
  setup(k, ctx) {
    const engine = new Engine(k, { name: 'ring0', irq: 44 });
    const ring = kstruct(k, 'struct ring', { lastSeqno: 0, result: 0 }, { name: 'ring' });
    requestIrq(k, 44, () => {
      ring.result = engine.hwSeqno * 10; // BUG: plain stores, published by nothing
      ring.lastSeqno = engine.hwSeqno;
      return IRQ_HANDLED;
    }, 'ring0');
    k.kthreadRun('submit', async () => {
      for (let seqno = 1; seqno <= 3; seqno++) {
        engine.submit({ seqno, durationNs: 1_000_000 });
        while (ring.lastSeqno < seqno) await msleep(k, 1); // BUG: plain load
        ctx.note(`command ${seqno} done, result ${ring.result}`);
      }
    });
  },
});

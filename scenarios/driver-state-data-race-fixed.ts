/**
 * The fixed twin of `driver-state-data-race`: the interrupt handler writes
 * the result, then publishes the seqno with `smp_store_release`; the submit
 * path polls it with `smp_load_acquire`, after which the result written
 * before the release is visible. Marked accesses never race with each
 * other, and the release/acquire pair orders the result.
 *
 * Expectation: clean on every seed.
 */
import { defineScenario } from '../src/scenario/index.ts';
import { Engine } from '../src/hw/index.ts';
import { IRQ_HANDLED, kstruct, msleep, requestIrq, smpLoadAcquire, smpStoreRelease } from '../src/kernel/index.ts';

export default defineScenario({
  name: 'driver-state-data-race-fixed',
  description: 'the IRQ handler publishes ring->last_seqno with smp_store_release; the submit path reads it with smp_load_acquire',
  expect: { verdict: 'clean' },
  setup(k, ctx) {
    const engine = new Engine(k, { name: 'ring0', irq: 44 });
    const ring = kstruct(k, 'struct ring', { lastSeqno: 0, result: 0 }, { name: 'ring' });
    requestIrq(k, 44, () => {
      ring.result = engine.hwSeqno * 10;
      smpStoreRelease(ring, 'lastSeqno', engine.hwSeqno);
      return IRQ_HANDLED;
    }, 'ring0');
    k.kthreadRun('submit', async () => {
      for (let seqno = 1; seqno <= 3; seqno++) {
        engine.submit({ seqno, durationNs: 1_000_000 });
        while (smpLoadAcquire(ring, 'lastSeqno') < seqno) await msleep(k, 1);
        ctx.note(`command ${seqno} done, result ${ring.result}`);
      }
    });
  },
});

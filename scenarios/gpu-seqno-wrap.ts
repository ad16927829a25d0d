/**
 * Xe's CI starts every 32-bit hardware seqno timeline at -127 so that a
 * queue wraps after 127 jobs (Matthew Brost, reviewing the removal of
 * DMA_FENCE_FLAG_SEQNO64_BIT). 1000 jobs run through drm_sched on an engine
 * whose seqno starts at -127; the driver decides completion with the
 * modular 32-bit rule, so every hardware and scheduler fence signals, in
 * order, across the wrap.
 *
 * Expectation: clean.
 */
import { defineScenario } from '../src/scenario/index.ts';
import { GpuDevice } from '../src/hw/index.ts';
import type { DmaFence } from '../src/fence/index.ts';

const JOBS = 1000;

export default defineScenario({
  name: 'gpu-seqno-wrap',
  description: '1000 jobs on an engine whose 32-bit hardware seqno starts at -127: the timeline wraps, every fence signals in order',
  expect: { verdict: 'clean' },
  setup(k, ctx) {
    const gpu = new GpuDevice(k, { name: 'gpu0', irq: 40, ringSize: 16, initialSeqno: -127 });
    k.kthreadRun('client', async () => {
      const entity = gpu.createEntity();
      const finished: DmaFence[] = [];
      for (let i = 0; i < JOBS; i++) {
        const job = gpu.jobCreate(entity, 10_000);
        if (typeof job === 'number') throw new Error(`job create failed: ${job}`);
        finished.push(await gpu.submit(job));
      }
      for (const f of finished) {
        const r = await f.wait(false);
        if (r !== 0 || f.error !== 0) throw new Error(`job ${f.seqno} finished with ${r}/${f.error}`);
        f.put();
      }
      await entity.destroy();
      await gpu.fini();
      const order = gpu.signalOrder;
      const wrapAt = order.findIndex((s, i) => i > 0 && s < order[i - 1]!);
      for (let i = 1; i < order.length; i++) {
        if (order[i] !== ((order[i - 1]! + 1) >>> 0)) throw new Error(`hardware fences signalled out of order at ${i}: ${order[i - 1]} then ${order[i]}`);
      }
      ctx.note(`${order.length} hardware fences signalled in seqno order, from 0x${order[0]!.toString(16)} (-127) through the wrap at job ${wrapAt + 1} (0xffffffff -> 0) to ${order[order.length - 1]}`);
      ctx.note(`engine: ${gpu.engine.completed} commands completed, virtual time ${k.nowNs / 1e6} ms`);
    });
  },
});

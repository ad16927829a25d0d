/**
 * A GPU job hangs. The scheduler's timeout (TDR) fires, the driver's
 * timeout handler resets the engine: the hung command is dropped and its
 * hardware fence completes with -ETIMEDOUT, which completes the job's
 * finished fence with the same error; the commands queued behind it run
 * after the reset, and later submissions complete normally.
 *
 * Expectation: clean (the hung job's finished fence carries -ETIMEDOUT).
 */
import { defineScenario } from '../src/scenario/index.ts';
import { Errno, msleep } from '../src/kernel/index.ts';
import { GpuDevice } from '../src/hw/index.ts';
import type { DmaFence } from '../src/fence/index.ts';

export default defineScenario({
  name: 'gpu-hang-recovery',
  description: 'a job hangs; the timeout handler resets the engine; later jobs complete; the hung job\'s fence carries -ETIMEDOUT',
  expect: { verdict: 'clean' },
  setup(k, ctx) {
    const gpu = new GpuDevice(k, { name: 'gpu0', irq: 41, ringSize: 8, timeoutMs: 100 });
    k.kthreadRun('client', async () => {
      const entity = gpu.createEntity();
      const fences: DmaFence[] = [];
      for (let i = 0; i < 12; i++) {
        const job = gpu.jobCreate(entity, 1_000_000, { hang: i === 3 });
        if (typeof job === 'number') throw new Error(`job create failed: ${job}`);
        fences.push(await gpu.submit(job));
      }
      for (const [i, f] of fences.entries()) {
        await f.wait(false);
        const want = i === 3 ? -Errno.ETIMEDOUT : 0;
        if (f.error !== want) throw new Error(`job ${i}: finished fence error ${f.error}, expected ${want}`);
      }
      ctx.note(`hung job ${fences[3]!.context}:${fences[3]!.seqno} finished with ${fences[3]!.error} (-ETIMEDOUT) at ${k.nowNs / 1e6} ms; engine resets: ${gpu.engine.resets}`);
      // Later submissions run normally after the reset.
      const late = gpu.jobCreate(entity, 1_000_000);
      if (typeof late === 'number') throw new Error('job create failed');
      const lf = await gpu.submit(late);
      await lf.wait(false);
      if (lf.error) throw new Error(`late job failed: ${lf.error}`);
      ctx.note(`${fences.length + 1} jobs finished, ${gpu.engine.completed} commands completed`);
      for (const f of [...fences, lf]) f.put();
      await msleep(k, 1);
      await entity.destroy();
      await gpu.fini();
    });
  },
});

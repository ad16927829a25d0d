import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Errno, Kernel } from '../../src/kernel/index.ts';
import { DmaFenceCb } from '../../src/fence/index.ts';
import type { DmaFence } from '../../src/fence/index.ts';
import { mockFence } from './helpers.ts';

type Op = { kind: 'add' | 'signal' | 'remove' | 'poll' | 'yield' | 'error'; fence: number };

const opArb = fc.record({
  kind: fc.constantFrom<Op['kind'][]>('add', 'add', 'signal', 'remove', 'poll', 'yield', 'error'),
  fence: fc.integer({ min: 0, max: 2 }),
});

interface CbRecord {
  fence: number;
  added: number;
  removed: boolean | null;
  runs: number;
}

/** Threads doing random fence operations; returns what happened. */
async function runOps(threads: Op[][], seed: number) {
  const k = new Kernel({ seed });
  const fences: DmaFence[] = [0, 1, 2].map((i) => mockFence(k, 1, i));
  const signals = [0, 0, 0];
  const signalResults: number[][] = [[], [], []];
  k.events.on((e) => {
    if (e.type === 'fence-signal') signals[e.seqno]!++;
  });
  const cbs: CbRecord[] = [];
  threads.forEach((ops, ti) => {
    k.kthreadRun(`t${ti}`, async () => {
      const mine: { cb: DmaFenceCb; rec: CbRecord }[] = [];
      for (const op of ops) {
        const f = fences[op.fence]!;
        switch (op.kind) {
          case 'add': {
            const rec: CbRecord = { fence: op.fence, added: 0, removed: null, runs: 0 };
            const cb = new DmaFenceCb();
            rec.added = f.addCallback(cb, () => rec.runs++);
            cbs.push(rec);
            mine.push({ cb, rec });
            break;
          }
          case 'signal':
            signalResults[op.fence]!.push(f.signal());
            break;
          case 'remove': {
            const m = mine.find((x) => x.rec.fence === op.fence && x.rec.removed === null);
            if (m) m.rec.removed = f.removeCallback(m.cb);
            break;
          }
          case 'poll':
            await f.waitTimeout(false, 0);
            break;
          case 'error':
            if (!f.signalled) f.setError(-Errno.EIO);
            break;
          case 'yield':
            await k.schedulePoint('yield');
            break;
        }
      }
    });
  });
  k.kthreadRun('finisher', async () => {
    for (let i = 0; i < 50; i++) await k.schedulePoint('spin');
    for (const f of fences) f.signal();
  });
  const r = await k.run();
  return { r, signals, signalResults, cbs, fences };
}

describe('fence invariants (property tests)', () => {
  it('a fence signals at most once; every signal after the first returns -EINVAL', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(opArb, { maxLength: 12 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 1000 }),
        async (threads, seed) => {
          const { r, signals, signalResults } = await runOps(threads, seed);
          expect(r.failure).toBeNull();
          expect(signals).toEqual([1, 1, 1]);
          for (const res of signalResults) {
            expect(res.filter((x) => x === 0).length).toBeLessThanOrEqual(1);
            expect(res.every((x) => x === 0 || x === -Errno.EINVAL)).toBe(true);
          }
        },
      ),
      { numRuns: 80, seed: 7 },
    );
  });

  it('a callback runs exactly once, or add returned -ENOENT (never run), or it was removed before running', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(opArb, { maxLength: 12 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 1000 }),
        async (threads, seed) => {
          const { r, cbs } = await runOps(threads, seed);
          expect(r.failure).toBeNull();
          for (const c of cbs) {
            if (c.added === -Errno.ENOENT) expect([c.runs, c.removed ?? false]).toEqual([0, false]);
            else if (c.removed === true) expect(c.runs).toBe(0);
            else expect([c.added, c.runs]).toEqual([0, 1]);
          }
        },
      ),
      { numRuns: 80, seed: 11 },
    );
  });
});

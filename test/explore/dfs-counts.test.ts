/**
 * The bounded search on the hand-countable 2x2 case (two threads, two steps
 * each: start, then one step acting on an object). Counted by hand:
 *
 * Without reduction every interleaving of a0 a1 with b0 b1 is one schedule,
 * C(4,2) = 6. A preemption is a switch away from a thread that could go on
 * (switching at a thread's exit, or at the very start, is free):
 *   a0 a1 b0 b1, b0 b1 a0 a1                    0 preemptions
 *   a0 b0 b1 a1, b0 a0 a1 b1                    1 preemption
 *   a0 b0 a1 b1, b0 a0 b1 a1                    2 preemptions
 * so bounds 0, 1, 2 give 2, 4, 6 schedules.
 *
 * With sleep sets, steps are dependent when they touch the same object
 * (a start step touches nothing). Independent second steps: all six
 * interleavings are one Mazurkiewicz trace, explored once; the search
 * also starts 2 runs that the sleep sets cut short (b0 first from the
 * root; b0 after a0), 1 with bound 0 (b0 after a0 needs a preemption).
 * Shared object: two traces (a1 before b1, or after), 2 schedules, 1 run
 * cut short. With bound 0 only 1: the second trace's representatives in
 * the b-first subtree are all asleep, and the one in the a-first subtree
 * (a0 b0 b1 a1) needs a preemption - the known gap of sleep sets under a
 * preemption bound, documented in dfs.ts.
 */
import { describe, expect, test } from 'vitest';
import { explore } from '../../src/explore/index.ts';
import { twoByTwo } from './fixtures/two-by-two.ts';

type Row = [shared: boolean, reduction: 'none' | 'sleep', bound: number | null, schedules: number, redundant: number];

const TABLE: Row[] = [
  [false, 'none', 0, 2, 0],
  [false, 'none', 1, 4, 0],
  [false, 'none', 2, 6, 0],
  [false, 'none', null, 6, 0],
  [true, 'none', null, 6, 0],
  [false, 'sleep', 0, 1, 1],
  [false, 'sleep', 1, 1, 2],
  [false, 'sleep', null, 1, 2],
  [true, 'sleep', 0, 1, 1],
  [true, 'sleep', 1, 2, 1],
  [true, 'sleep', null, 2, 1],
];

describe('dfs on two threads of two steps', () => {
  for (const [shared, reduction, bound, schedules, redundant] of TABLE) {
    test(`${shared ? 'shared' : 'independent'} objects, reduction ${reduction}, bound ${bound ?? 'none'}: ${schedules} schedules, ${redundant} cut short`, async () => {
      const r = await explore(twoByTwo(shared), { strategy: 'dfs', reduction, preemptions: bound, until: 'all' });
      expect(r).toMatchObject({ schedules, redundant, distinct: schedules, exhausted: true, stoppedBy: 'exhausted', bugs: [] });
    });
  }

  test('the six schedules without reduction are the six interleavings', async () => {
    const seen: string[] = [];
    const { DfsStrategy, ExploreChooser, ExploreSession } = await import('../../src/explore/index.ts');
    const cfg = { faults: new Set<never>(), maxFaults: 1, maxPreemptions: Number.POSITIVE_INFINITY };
    const session = new ExploreSession(twoByTwo(false), { seed: 1, chooser: cfg });
    const dfs = new DfsStrategy({ reduction: false });
    const chooser = new ExploreChooser(dfs, cfg);
    while (dfs.beginExecution()) {
      const o = await session.runWith(chooser, 1);
      seen.push(o.result.schedule.decisions.map((d) => d.label.replace('t', '')).join(''));
    }
    // The decisions of each run; after one thread exits the other runs alone
    // (no decision): a0 a1 b0 b1, a0 b0 b1 a1, a0 b0 a1 b1, b0 b1 a0 a1, b0 a0 a1 b1, b0 a0 b1 a1.
    expect(seen).toEqual(['11', '122', '121', '22', '211', '212']);
  });
});

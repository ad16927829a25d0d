/**
 * The dependency graph outlives a kernel: an exploration keeps one across
 * runs, so an order seen in one run and its inverse in a later run are
 * reported in the later run; each distinct report is made once per graph.
 */
import { describe, expect, it } from 'vitest';
import { createCheckedKernel, lockdepOf, LockdepGraph } from '../../src/check/index.ts';
import { Mutex } from '../../src/kernel/index.ts';
import type { RunResult } from '../../src/kernel/index.ts';
import { rulesOf } from './helpers.ts';

async function run(graph: LockdepGraph, seed: number, order: 'ab' | 'ba'): Promise<RunResult> {
  const k = createCheckedKernel({ seed, graph });
  const a = new Mutex(k, 'A', { key: 'test:A' });
  const b = new Mutex(k, 'B', { key: 'test:B' });
  const [x, y] = order === 'ab' ? [a, b] : [b, a];
  k.kthreadRun('t', async () => {
    await x.lock();
    await y.lock();
    y.unlock();
    x.unlock();
  });
  return k.run();
}

describe('a graph kept across runs', () => {
  it('reports in run 2 the inverse of an order recorded in run 1', async () => {
    const graph = new LockdepGraph();
    const r1 = await run(graph, 1, 'ab');
    expect(rulesOf(r1)).toEqual([]);
    const r2 = await run(graph, 2, 'ba');
    expect(rulesOf(r2)).toEqual(['lockdep.circular']);
    expect(r2.splats[0]!.body).toContain('run 1 (seed 1)');
    const chain = r2.splats[0]!.data!.chain as { recorded: { run: number; seed: number } }[];
    expect(chain[0]!.recorded).toMatchObject({ run: 1, seed: 1 });
  });

  it('reports each distinct cycle once per graph', async () => {
    const graph = new LockdepGraph();
    await run(graph, 1, 'ab');
    expect(rulesOf(await run(graph, 2, 'ba'))).toEqual(['lockdep.circular']);
    expect(rulesOf(await run(graph, 3, 'ba'))).toEqual([]);
    expect(graph.runs).toBe(3);
  });

  it('does not see orders from another graph', async () => {
    await run(new LockdepGraph(), 1, 'ab');
    expect(rulesOf(await run(new LockdepGraph(), 2, 'ba'))).toEqual([]);
  });

  it('primes the dma_resv order once per graph', async () => {
    const graph = new LockdepGraph();
    await run(graph, 1, 'ab');
    const edges = graph.stats.edges;
    expect(graph.primed).toBe(true);
    expect(graph.findClass('reservation_ww_class_mutex')).toBeDefined();
    await run(graph, 2, 'ab');
    expect(graph.stats.edges).toBe(edges);
  });

  it('can run without priming', async () => {
    const k = createCheckedKernel({ priming: false });
    k.kthreadRun('t', () => undefined);
    await k.run();
    const graph = lockdepOf(k)!.graph;
    expect(graph.primed).toBe(false);
    expect(graph.findClass('fs_reclaim')).toBeUndefined();
  });
});

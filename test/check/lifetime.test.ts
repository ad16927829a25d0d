/**
 * Object lifetime: leaks at the end of a run with the unbalanced get/put
 * sites (for krefs that opt in), use after the last put, put below zero.
 */
import { describe, expect, it } from 'vitest';
import { unbalancedSites } from '../../src/check/index.ts';
import { Kref } from '../../src/kernel/index.ts';
import { rulesOf, runChecked, splatsOf } from './helpers.ts';

describe('kref lifetime tracking', () => {
  it('reports an opted-in object still referenced at the end, with the unbalanced sites', async () => {
    const r = await runChecked(
      (k) => {
        k.kthreadRun('producer', () => {
          const ref = new Kref(k, 'dma_fence 1:1', { trackLeaks: true });
          ref.get();
          ref.put();
        });
      },
      { captureStacks: true },
    );
    expect(rulesOf(r)).toEqual(['lifetime.leak']);
    const s = splatsOf(r, 'lifetime.leak')[0]!;
    expect(s.headline).toContain('dma_fence 1:1 leaked: refcount 1');
    const unbalanced = s.data!.unbalanced as { where: string; net: number }[];
    expect(unbalanced).toHaveLength(1);
    expect(unbalanced[0]!.net).toBe(1);
    expect(s.body).toContain('get/put history:');
  });

  it('does not report objects that did not opt in, or that were released', async () => {
    const r = await runChecked((k) => {
      k.kthreadRun('t', () => {
        const quiet = new Kref(k, 'untracked');
        quiet.get();
        const done = new Kref(k, 'released', { trackLeaks: true });
        done.get();
        done.put();
        done.put();
      });
    });
    expect(rulesOf(r)).toEqual([]);
  });

  it('reports a put below zero and a get after release', async () => {
    const r = await runChecked((k) => {
      k.kthreadRun('t', () => {
        const ref = new Kref(k, 'obj', { trackLeaks: true });
        ref.put();
        ref.put();
        ref.get();
      });
    });
    expect(rulesOf(r)).toEqual(['refcount.underflow', 'refcount.addition_on_0']);
  });

  it('computes the sites whose gets and puts do not cancel out', () => {
    const ev = (op: 'init' | 'get' | 'put' | 'release', site: string) => ({ op, count: 0, thread: 't', timeNs: 0, site });
    expect(unbalancedSites([ev('init', 'a'), ev('get', 'b'), ev('put', 'b'), ev('get', 'c')])).toEqual([
      { where: 'a', net: 1 },
      { where: 'c', net: 1 },
    ]);
  });
});

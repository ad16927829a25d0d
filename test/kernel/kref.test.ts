import { describe, expect, it } from 'vitest';
import { Kernel, Kref, setKrefTracker } from '../../src/kernel/index.ts';
import type { KrefEvent } from '../../src/kernel/index.ts';
import { rules } from './kernel-test-helpers.ts';

describe('kref', () => {
  it('get/put count references; the last put calls release once and returns true', async () => {
    const k = new Kernel();
    const out: unknown[] = [];
    let releases = 0;
    k.kthreadRun('t', () => {
      const r = new Kref(k, 'obj');
      r.get();
      out.push(r.read(), r.put(() => releases++), r.released, r.put(() => releases++), r.released, r.read());
    });
    const res = await k.run();
    expect(out).toEqual([2, false, false, true, true, 0]);
    expect(releases).toBe(1);
    expect(res.splats).toEqual([]);
  });

  it('get_unless_zero fails once the object is being released', async () => {
    const k = new Kernel();
    const out: boolean[] = [];
    k.kthreadRun('t', () => {
      const r = new Kref(k, 'obj');
      out.push(r.getUnlessZero());
      r.put();
      r.put();
      out.push(r.getUnlessZero());
    });
    const res = await k.run();
    expect(out).toEqual([true, false]);
    expect(res.splats).toEqual([]);
  });

  it('a put below zero is an underflow, a get on zero an addition on 0 (use after free)', async () => {
    const k = new Kernel();
    let releases = 0;
    k.kthreadRun('t', () => {
      const r = new Kref(k, 'fence 1:2');
      r.put(() => releases++);
      expect(r.put(() => releases++)).toBe(false);
      r.get();
      expect(r.read()).toBe(0);
    });
    const res = await k.run();
    expect(rules(res)).toEqual(['refcount.underflow', 'refcount.addition_on_0']);
    expect(res.splats[0]!.headline).toBe('refcount_t: underflow; use-after-free.');
    expect(res.splats[1]!.headline).toBe('refcount_t: addition on 0; use-after-free.');
    expect(res.splats[0]!.data).toEqual({ object: 'fence 1:2' });
    expect(releases).toBe(1);
  });

  it('with a tracker installed, every get and put is recorded with thread and time', async () => {
    const k = new Kernel();
    const seen: KrefEvent[] = [];
    setKrefTracker(k, { created: () => {}, changed: (_r, ev) => seen.push(ev) });
    k.kthreadRun('owner', () => {
      const r = new Kref(k, 'obj');
      r.get();
      r.put();
      r.put();
      r.get();
    });
    const res = await k.run();
    expect(seen.map((e) => [e.op, e.count, e.thread])).toEqual([
      ['init', 1, 'owner'],
      ['get', 2, 'owner'],
      ['put', 1, 'owner'],
      ['release', 0, 'owner'],
    ]);
    expect(res.splats[0]!.body).toContain('release -> 0 by owner');
  });
});

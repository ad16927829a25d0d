/**
 * Lockdep's nesting annotations on sleeping locks: `down_read_nested` /
 * `down_write_nested` and `mutex_lock_nested` subclasses, and
 * `mutex_lock_nest_lock` ("Nested lock was not taken").
 */
import { describe, expect, it } from 'vitest';
import { Mutex, RwSemaphore } from '../../src/kernel/index.ts';
import { rulesOf, runChecked } from './helpers.ts';

const SINGLE_DEPTH_NESTING = 1;

describe('rwsem nesting (down_read_nested / down_write_nested)', () => {
  it('two inodes of one class: parent then child with down_write_nested(SINGLE_DEPTH_NESTING) is clean', async () => {
    const r = await runChecked((k) => {
      const parent = new RwSemaphore(k, 'parent->i_rwsem', { key: 'inode.i_rwsem' });
      const child = new RwSemaphore(k, 'child->i_rwsem', { key: 'inode.i_rwsem' });
      k.kthreadRun('rename', async () => {
        await parent.downWrite();
        await child.downWriteNested(SINGLE_DEPTH_NESTING);
        child.upWrite();
        parent.upWrite();
      });
    });
    expect(rulesOf(r)).toEqual([]);
  });

  it('without the annotation the same nesting is recursive locking', async () => {
    const r = await runChecked((k) => {
      const parent = new RwSemaphore(k, 'parent->i_rwsem', { key: 'inode.i_rwsem' });
      const child = new RwSemaphore(k, 'child->i_rwsem', { key: 'inode.i_rwsem' });
      k.kthreadRun('rename', async () => {
        await parent.downWrite();
        await child.downWrite();
        child.upWrite();
        parent.upWrite();
      });
    });
    expect(rulesOf(r)).toEqual(['lockdep.recursive']);
  });

  it('down_read_nested: a reader subclass is its own class; a later inverse order against another lock is a cycle', async () => {
    const r = await runChecked((k) => {
      const a = new RwSemaphore(k, 'a->sem', { key: 'obj.sem' });
      const b = new RwSemaphore(k, 'b->sem', { key: 'obj.sem' });
      const m = new Mutex(k, 'm');
      k.kthreadRun('t', async () => {
        await a.downRead();
        await b.downReadNested(1);
        await m.lock();
        m.unlock();
        b.upRead();
        a.upRead();
        await m.lock();
        await b.downReadNested(1);
        b.upRead();
        m.unlock();
      });
    });
    expect(rulesOf(r)).toEqual(['lockdep.circular']);
    expect(r.splats[0]!.body).toMatch(/->sem\/1\b/); // the subclass-1 class
  });

  it('subclasses are positions, not instances: swapping parent and child between two runs is not seen (as in the kernel)', async () => {
    const r = await runChecked((k) => {
      const x = new RwSemaphore(k, 'x->i_rwsem', { key: 'inode.i_rwsem' });
      const y = new RwSemaphore(k, 'y->i_rwsem', { key: 'inode.i_rwsem' });
      k.kthreadRun('t', async () => {
        await x.downWrite();
        await y.downWriteNested(1);
        y.upWrite();
        x.upWrite();
        await y.downWrite();
        await x.downWriteNested(1);
        x.upWrite();
        y.upWrite();
      });
    });
    expect(rulesOf(r)).toEqual([]);
  });
});

describe('mutex_lock_nest_lock', () => {
  it('many locks of one class under the outer lock that serialises them: no recursion report', async () => {
    const r = await runChecked((k) => {
      const outer = new Mutex(k, 'vm->lock');
      const ptes = [0, 1, 2].map((i) => new Mutex(k, `pt${i}->lock`, { key: 'pt.lock' }));
      k.kthreadRun('t', async () => {
        await outer.lock();
        for (const p of ptes) await p.lockNestLock(outer);
        for (const p of ptes.reverse()) p.unlock();
        outer.unlock();
      });
    });
    expect(rulesOf(r)).toEqual([]);
  });

  it('the outer lock not held: "Nested lock was not taken"', async () => {
    const r = await runChecked((k) => {
      const outer = new Mutex(k, 'vm->lock');
      const p0 = new Mutex(k, 'pt0->lock', { key: 'pt.lock' });
      k.kthreadRun('t', async () => {
        await p0.lockNestLock(outer);
        p0.unlock();
      });
    });
    expect(rulesOf(r)).toEqual(['lockdep.nested_lock_not_taken']);
    expect(r.splats[0]!.headline).toBe('WARNING: Nested lock was not taken');
  });

  it('mutex_lock_nested with a subclass of 8 or more is an invalid subclass', async () => {
    const r = await runChecked((k) => {
      const m = new Mutex(k, 'm');
      k.kthreadRun('t', async () => {
        await m.lockNested(8);
        m.unlock();
      });
    });
    expect(rulesOf(r)).toEqual(['lockdep.invalid_subclass']);
  });
});

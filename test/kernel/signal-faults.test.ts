/**
 * Signals as an injected fault: the chooser is asked, at every interruptible
 * sleep of a task that takes signals (a user process's thread, or a kthread
 * after allow_signal), whether a signal arrives. A delivered one breaks the
 * sleep with the kernel's return code, is recorded in the schedule by
 * thread and operation, and replays exactly. Kthreads that did not allow
 * signals are never asked; without a rate or a strategy nothing changes.
 */
import { describe, expect, it } from 'vitest';
import {
  Errno,
  Kernel,
  Mutex,
  PrngChooser,
  ReplayChooser,
  WaitQueueHead,
  msleep,
} from '../../src/kernel/index.ts';
import type { ChoiceKind, ChoiceOption, Chooser } from '../../src/kernel/index.ts';
import { signalOnSyscallExit, UserProcess } from '../../src/fence/index.ts';
import { checkDeterminism } from '../../src/explore/index.ts';

/** The default chooser, recording every injection question and saying yes to the signal sites listed. */
class AskingChooser implements Chooser {
  private readonly inner = new PrngChooser(1);
  readonly asked: string[] = [];
  constructor(private readonly yes: readonly string[] = []) {}
  choose(kind: ChoiceKind, options: readonly ChoiceOption[]): number {
    return this.inner.choose(kind, options);
  }
  inject(kind: ChoiceKind, site: string): boolean {
    this.asked.push(`${kind}:${site}`);
    return kind === 'signal' && this.yes.includes(site);
  }
}

/** Uninterrupted: the waiter got the mutex, then its event. */
const UNINTERRUPTED = [0, 'after the unlock', 0, 'after the event'];

/**
 * A mutex held for 10 ms by `holder`, which then raises an event 5 ms
 * later; `waiter` waits for the mutex interruptibly, then for the event.
 * `out` gets each wait's result and whether it returned before the unlock
 * or the event.
 */
function contended(k: Kernel, out: (number | string)[], mode: 'kthread' | 'allowed' | 'user'): void {
  const m = new Mutex(k, 'm');
  const wq = new WaitQueueHead(k, 'wq');
  let unlocked = false;
  let done = false;
  k.kthreadRun('holder', async () => {
    await m.lock();
    await msleep(k, 10);
    unlocked = true;
    m.unlock();
    await msleep(k, 5);
    done = true;
    wq.wakeUp();
  });
  const body = async (): Promise<void> => {
    if (mode === 'allowed') k.allowSignal();
    await msleep(k, 1);
    const r = await m.lockInterruptible();
    out.push(r, unlocked ? 'after the unlock' : 'before the unlock');
    if (r === 0) m.unlock();
    k.flushSignals();
    out.push(await wq.waitEventInterruptible(() => done), done ? 'after the event' : 'before the event');
  };
  if (mode === 'user') new UserProcess(k, 'proc').spawn('waiter', body);
  else k.kthreadRun('waiter', body);
}

describe('who gets asked', () => {
  it('a kthread that did not allow signals: never', async () => {
    const chooser = new AskingChooser();
    const k = new Kernel({ chooser });
    const out: (number | string)[] = [];
    contended(k, out, 'kthread');
    await k.run();
    expect(chooser.asked.filter((a) => a.startsWith('signal'))).toEqual([]);
    expect(out).toEqual(UNINTERRUPTED);
  });

  it('after allow_signal, and a user process thread: at each interruptible sleep, by thread and operation', async () => {
    for (const mode of ['allowed', 'user'] as const) {
      const chooser = new AskingChooser();
      const k = new Kernel({ chooser });
      contended(k, [], mode);
      await k.run();
      expect(chooser.asked.filter((a) => a.startsWith('signal')), mode).toEqual([
        'signal:waiter:mutex_lock_interruptible',
        'signal:waiter:wait_event_interruptible',
      ]);
    }
  });
});

describe('a delivered signal', () => {
  it('breaks the sleep with -EINTR (mutex) / -ERESTARTSYS (wait_event) and is recorded by name', async () => {
    const chooser = new AskingChooser(['waiter:mutex_lock_interruptible', 'waiter:wait_event_interruptible']);
    const k = new Kernel({ chooser });
    const out: (number | string)[] = [];
    contended(k, out, 'user');
    const r = await k.run();
    expect(r.splats).toEqual([]);
    expect(out).toEqual([-Errno.EINTR, 'before the unlock', -Errno.ERESTARTSYS, 'before the event']);
    expect(r.schedule.decisions.filter((d) => d.kind === 'signal')).toEqual([
      { kind: 'signal', label: 'inject:waiter:mutex_lock_interruptible' },
      { kind: 'signal', label: 'inject:waiter:wait_event_interruptible' },
    ]);
  });

  it('makes the thread runnable, not running: others may run before it unwinds', async () => {
    const order: string[] = [];
    let choices = 0;
    const chooser: Chooser = {
      // The sleeper first; after that the other thread whenever it can run.
      choose: (_kind, options) => {
        const want = choices++ === 0 ? 'sleeper' : 'other';
        return Math.max(0, options.findIndex((o) => o.label === want));
      },
      inject: (kind) => kind === 'signal',
    };
    const k = new Kernel({ chooser });
    const wq = new WaitQueueHead(k, 'wq');
    new UserProcess(k, 'p').spawn('sleeper', async () => {
      order.push(`sleeper: ${await wq.waitEventInterruptible(() => false)}`);
    });
    k.kthreadRun('other', () => {
      order.push('other');
    });
    await k.run();
    expect(order).toEqual(['other', `sleeper: ${-Errno.ERESTARTSYS}`]);
  });

  it('replays exactly: the same events, byte for byte, from the recorded schedule', async () => {
    const setup = (k: Kernel): void => {
      contended(k, [], 'user');
    };
    const check = await checkDeterminism(setup, { seed: 3, faults: { signal: 1 } });
    expect(check.result.schedule.decisions.filter((d) => d.kind === 'signal')).toHaveLength(2);
    expect(check.b).toBe(check.a);
    expect(check.replay).toBe(check.a);
    // A replay of a schedule without a signal delivers none, whatever the rates say.
    const plain = new Kernel({ seed: 3 });
    contended(plain, [], 'user');
    const schedule = (await plain.run()).schedule;
    const k = new Kernel({ chooser: new ReplayChooser(schedule), faults: { signal: 1 } });
    const out: (number | string)[] = [];
    contended(k, out, 'user');
    await k.run();
    expect(out).toEqual(UNINTERRUPTED);
  });

  it('no rate, no strategy: the PRNG is not consumed, so seeds give the runs they gave before', async () => {
    for (const seed of [1, 2, 3]) {
      const plain = new Kernel({ seed });
      contended(plain, [], 'kthread');
      const user = new Kernel({ seed });
      contended(user, [], 'user');
      expect((await user.run()).schedule.decisions).toEqual((await plain.run()).schedule.decisions);
    }
  });
});

describe('return to user space with a signal pending', () => {
  it('the handler takes it (no longer pending) and -ERESTARTSYS becomes -EINTR; other results stay', async () => {
    const k = new Kernel();
    const got: (number | boolean)[] = [];
    new UserProcess(k, 'p').spawn('t', (self) => {
      self.signalPending = true;
      got.push(signalOnSyscallExit(self, -Errno.ERESTARTSYS), self.signalPending);
      got.push(signalOnSyscallExit(self, -Errno.ERESTARTSYS));
      self.signalPending = true;
      got.push(signalOnSyscallExit(self, 0), self.signalPending);
    });
    await k.run();
    expect(got).toEqual([-Errno.EINTR, false, -Errno.ERESTARTSYS, 0, false]);
  });
});

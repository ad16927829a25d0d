/**
 * The notation lockdep reports use, explained once for `dmabuf-lab explain`
 * and the HTML report's legend: the usage characters after a class name
 * (`{+.+.}`), the wait types (`-{4:4}`), the dependency marks on chain
 * entries (`[EN]`) and the read marks on held locks (`{r}`, `{R}`).
 *
 * @kernel Documentation/locking/lockdep-design.rst ("State", "Dependency types and strength")
 */

/** One notation and what it means. */
export interface NotationEntry {
  readonly mark: string;
  readonly meaning: string;
}

/** A group of related notations with a line of introduction. */
export interface NotationGroup {
  readonly title: string;
  readonly intro: string;
  readonly entries: readonly NotationEntry[];
}

/**
 * The marks lockdep prints in its reports (usage characters, `[EN]`-style
 * dependency marks, wait types), grouped, each with what it means.
 */
export const LOCKDEP_NOTATION: readonly NotationGroup[] = [
  {
    title: 'Usage characters: (lock){+.+.}',
    intro:
      'Four characters after a lock class: hardirq (write), hardirq (read), softirq (write), softirq (read). Each says how the class has been used with respect to that interrupt kind so far.',
    entries: [
      { mark: '.', meaning: 'acquired with that IRQ kind disabled and never in that IRQ context' },
      { mark: '-', meaning: 'acquired in that IRQ context (IRQ-safe use)' },
      { mark: '+', meaning: 'acquired with that IRQ kind enabled (IRQ-unsafe use)' },
      { mark: '?', meaning: "acquired in that IRQ context with IRQs enabled (both '-' and '+')" },
    ],
  },
  {
    title: 'Wait types: -{outer:inner}',
    intro:
      'What acquiring the lock may do (inner) and what holding it allows (outer); a lock may not be taken in a context whose wait type is lower.',
    entries: [
      { mark: '0', meaning: 'INV: not checked (pseudo-locks such as fs_reclaim)' },
      { mark: '1', meaning: 'FREE: never waits (RCU read side)' },
      { mark: '2', meaning: 'SPIN: spins (raw_spinlock_t)' },
      { mark: '3', meaning: 'CONFIG: spins, sleeps on PREEMPT_RT (spinlock_t)' },
      { mark: '4', meaning: 'SLEEP: may sleep (mutex, rwsem, ww_mutex)' },
    ],
  },
  {
    title: 'Dependency marks on chain entries: [EN], [SR], ...',
    intro:
      'The type of a recorded dependency "B acquired while holding A": first letter how A was held, second how B was taken. A cycle counts only along a strong path: one where no dependency ending in R is followed by one starting with S.',
    entries: [
      { mark: 'E', meaning: 'first letter: A held exclusively (a writer)' },
      { mark: 'S', meaning: 'first letter: A held shared (a reader)' },
      { mark: 'N', meaning: 'second letter: B taken non-recursively (writer, or non-recursive reader)' },
      { mark: 'R', meaning: 'second letter: B taken as a recursive reader' },
      { mark: '[EN]', meaning: 'the usual case: a writer of A then a writer of B' },
    ],
  },
  {
    title: 'Held-lock marks: (lock){r}, (lock){R}',
    intro: 'After a held lock in a held-lock list.',
    entries: [
      { mark: '{r}', meaning: 'held as a non-recursive reader (down_read)' },
      { mark: '{R}', meaning: 'held as a recursive reader (rcu_read_lock, read_lock)' },
      { mark: '(none)', meaning: 'held exclusively' },
    ],
  },
];

/**
 * The notation as text (for `dmabuf-lab explain notation` and after lockdep rules).
 *
 * @kernel Documentation/locking/lockdep-design.rst (the notation it explains)
 */
export function notationText(): string {
  return LOCKDEP_NOTATION.map(
    (g) =>
      `${g.title}\n  ${g.intro}\n${g.entries.map((e) => `    ${e.mark.padEnd(7)} ${e.meaning}`).join('\n')}`,
  ).join('\n\n');
}

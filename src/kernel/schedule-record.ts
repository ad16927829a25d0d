import type { ChoiceKind, Decision, Schedule } from './chooser.ts';

const KINDS: readonly ChoiceKind[] = [
  'thread',
  'timer',
  'alloc',
  'ww-slowpath',
  'device',
  'reclaim',
  'data',
  'signal',
];
const KIND_INDEX = new Map(KINDS.map((k, i) => [k, i]));

/**
 * The decisions of a run, kept as two flat arrays (kind index, label) so that
 * recording costs no allocation per step; `decisions` builds the objects on
 * first use.
 */
export class RecordedSchedule implements Schedule {
  readonly kinds: number[] = [];
  readonly labels: string[] = [];
  private built: Decision[] | null = null;

  constructor(readonly seed: number) {}

  push(kind: ChoiceKind, label: string): void {
    this.kinds.push(KIND_INDEX.get(kind)!);
    this.labels.push(label);
    this.built = null;
  }

  get decisions(): readonly Decision[] {
    this.built ??= this.labels.map((label, i) => ({ kind: KINDS[this.kinds[i]!]!, label }));
    return this.built;
  }

  toJSON(): Schedule {
    return { seed: this.seed, decisions: this.decisions };
  }
}

import type { ChoiceKind, ChoiceOption, Chooser } from '../../src/kernel/index.ts';

/**
 * A chooser that injects allocation failures only at the named sites (each
 * up to `times` times, default forever) and otherwise takes the first option.
 */
export class FailAt implements Chooser {
  readonly injected: string[] = [];
  private readonly left = new Map<string, number>();

  constructor(sites: readonly string[], times = Number.POSITIVE_INFINITY) {
    for (const s of sites) this.left.set(s, times);
  }

  choose(_kind: ChoiceKind, _options: readonly ChoiceOption[]): number {
    return 0;
  }

  /** The kernel labels sites `site#occurrence`; match on the site. */
  inject(kind: ChoiceKind, label: string): boolean {
    const site = label.replace(/#\d+$/, '');
    const n = this.left.get(site) ?? 0;
    if (kind !== 'alloc' || n <= 0) return false;
    this.left.set(site, n - 1);
    this.injected.push(site);
    return true;
  }
}

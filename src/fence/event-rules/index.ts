/**
 * The rule book's fence consumers: rules judged from `fence-*` events alone,
 * run on the model's kernels (installed with the fence layer's state) and by
 * `dmabuf-lab trace-check` on events parsed from real kernel traces.
 */
import type { EventRuleFactory } from '../../check/index.ts';
import { fenceLifecycleRule } from './lifecycle.ts';
import { fenceOrderRule } from './order.ts';
import { fenceWaitRule } from './waits.ts';

export { fenceLifecycleRule, fenceOrderRule, fenceWaitRule };
export { sweep, later } from './timeline.ts';
export {
  FenceTable,
  FenceEntry,
  fenceTableFor,
  shareFenceTable,
  FENCE_TABLE_TYPES,
  ENTRY_LIVE,
  ENTRY_DESTROYED,
  ENTRY_FORGOTTEN,
} from './table.ts';
export type { FenceTimeline, FenceTableEvent } from './table.ts';

/** Every fence rule of the rule book. */
export const FENCE_EVENT_RULES: readonly EventRuleFactory[] = [
  fenceOrderRule,
  fenceLifecycleRule,
  fenceWaitRule,
];

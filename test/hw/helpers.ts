export { rules, runTest } from '../sched/helpers.ts';

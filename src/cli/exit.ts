/** Exit codes of the `dmabuf-lab` command. */
export const Exit = {
  /** Clean run, or every verdict as expected. */
  OK: 0,
  /** Splats found, a limit reached (steps, virtual time, or the wall-clock --timeout of a run still progressing), or (check) a verdict that differs. */
  FINDINGS: 1,
  /** Usage or scenario error: bad options, a scenario that does not load, throws, hangs or awaits outside the kernel. */
  ERROR: 2,
  /** Stopped by Ctrl-C (SIGINT) or SIGTERM, after printing what was found so far. */
  INTERRUPTED: 130,
} as const;

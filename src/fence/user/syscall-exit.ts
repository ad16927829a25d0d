import type { Kernel, Thread } from '../../kernel/index.ts';

/**
 * `lockdep_sys_exit`: a system call returns to user space; locks it took
 * and still holds (`t.held` deeper than at entry) are reported as
 * `lockdep.held_on_return_to_user`, naming a ww_acquire_ctx that was never
 * finished when one is among them.
 *
 * @kernel lockdep_sys_exit (kernel/locking/lockdep.c): "WARNING: lock held when returning to user space!"
 */
export function lockdepSysExit(k: Kernel, t: Thread, depthAtEntry: number, syscall: string): void {
  if (t.held.length <= depthAtEntry) return;
  const taken = t.held.slice(depthAtEntry);
  const ctxs = taken.filter((h) => h.map.key.endsWith('_acquire'));
  k.splat({
    rule: 'lockdep.held_on_return_to_user',
    severity: 'lockdep',
    headline: 'WARNING: lock held when returning to user space!',
    body:
      `${t.name}/${t.id} is leaving the kernel with locks still held!\n` +
      `${taken.length} lock${taken.length > 1 ? 's' : ''} taken in ${syscall} and held by ${t.name}:\n` +
      taken.map((h, i) => ` #${depthAtEntry + i}: (${h.map.name})${h.site ? `, at: ${h.site}` : ''}`).join('\n') +
      (ctxs.length ? `\n${ctxs.map((h) => `${h.map.name} is a ww_acquire_ctx: ww_acquire_fini() was not called`).join('\n')}` : ''),
    thread: t,
    data: { syscall, locks: taken.map((h) => h.map.name) },
  });
}

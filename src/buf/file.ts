import type { File, FileContext, PollTable } from '../fence/index.ts';
import { Access } from '../kernel/index.ts';
import { attachmentsAccess } from './attach-list.ts';
import type { DmaBuf } from './forward.ts';
import { dmaBufIoctl } from './ioctl.ts';
import { dmaBufPoll } from './poll.ts';

/**
 * The dma-buf's file operations (`dma_buf_fops`): ioctl, poll and the
 * release of the buffer on the last fput. `fileType` is the `f_op`
 * identity `is_dma_buf_file` compares.
 *
 * @kernel dma_buf_fops, dma_buf_release, dma_buf_file_release
 */
export class DmaBufFile implements File {
  readonly fileType = 'dmabuf';

  constructor(readonly dmabuf: DmaBuf) {}

  ioctl(ctx: FileContext, request: string, arg: unknown): Promise<number> {
    return dmaBufIoctl(ctx, this.dmabuf, request, arg);
  }

  poll(ctx: FileContext, pt: PollTable | null): number {
    return dmaBufPoll(ctx, this.dmabuf, pt);
  }

  /**
   * `dma_buf_release`: BUG if vmaps are outstanding or a poll callback is
   * still armed (reported, not fatal here: the last put can happen in any
   * context); the exporter's `release`; the embedded resv is finalized;
   * WARN if attachments remain.
   */
  release(): void {
    const d = this.dmabuf;
    const k = d.kernel;
    d.released = true;
    if (d.vmappingCounter) {
      k.splat({
        rule: 'dma_buf.release_vmapped',
        severity: 'bug',
        headline:
          'kernel BUG at drivers/dma-buf/dma-buf.c: dma_buf_release: BUG_ON(dmabuf->vmapping_counter)',
        body: `${d.toString()} released with ${d.vmappingCounter} vmap(s) outstanding`,
      });
    }
    if (d.cbIn.active || d.cbOut.active) {
      k.splat({
        rule: 'dma_buf.release_poll_active',
        severity: 'bug',
        headline:
          'kernel BUG at drivers/dma-buf/dma-buf.c: dma_buf_release: BUG_ON(dmabuf->cb_in.active || dmabuf->cb_out.active)',
        body: `${d.toString()} released with a poll callback armed: file reference imbalance in dma_buf_poll`,
      });
    }
    d.ops.release(d);
    if (d.ownsResv) d.resv.fini();
    // Read without the resv lock: only the last reference may, so a detach
    // not ordered before the final put races with it.
    attachmentsAccess(d, Access.READ, 'dma_buf_release');
    if (d.attachments.length) {
      k.splat({
        rule: 'dma_buf.release_with_attachments',
        severity: 'warn',
        headline: 'WARNING: dma_buf_release: !list_empty(&dmabuf->attachments)',
        body: `${d.toString()} released with ${d.attachments.length} attachment(s): importers must detach before dropping their reference`,
      });
    }
    if (k.events.active) k.emit('dmabuf-release', { dmabuf: d.id });
  }
}

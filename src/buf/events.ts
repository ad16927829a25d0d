/**
 * The buffer layer's events on the kernel's event stream: export, attach and
 * detach (with the negotiated mapping type), map and unmap, move_notify
 * (invalidate) and revoke, release.
 *
 * @kernel the role of the dma_buf tracepoints (include/trace/events/dma_buf.h, 2025)
 */
declare module '../kernel/events.ts' {
  interface KernelEventMap {
    'dmabuf-export': { dmabuf: number; exporter: string; size: number };
    /** `attachment`: ordinal on the buffer; `importer`: the importer's class and device (see `importerName`). */
    'dmabuf-attach': {
      dmabuf: number;
      attachment: number;
      importer: string;
      dev: string | null;
      dynamic: boolean;
      mapType: string | null;
      result: number;
    };
    'dmabuf-detach': { dmabuf: number; attachment: number; dev: string | null };
    'dmabuf-map': {
      dmabuf: number;
      attachment: number;
      dev: string | null;
      mapType: string;
      result: number;
    };
    'dmabuf-unmap': { dmabuf: number; attachment: number; dev: string | null; mapType: string };
    'dmabuf-move-notify': { dmabuf: number; attachments: number; revoked: boolean };
    'dmabuf-revoke': { dmabuf: number; revoked: boolean };
    'dmabuf-release': { dmabuf: number };
  }
}

export {};

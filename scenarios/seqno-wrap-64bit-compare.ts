/**
 * `seqno-wrap` with every fence compared as a plain 64-bit number, which is
 * what the October 2025 RFC "dma-buf: remove DMA_FENCE_FLAG_SEQNO64_BIT"
 * would have made of `__dma_fence_is_later`. Matthew Brost's review: Xe's
 * rings store a 32-bit seqno and its CI starts every context at -127, so
 * any queue running more than 127 jobs breaks. Here the post-wrap fences
 * (seqno 0, 1, ...) compare as older than the register (0xffffff81...) and
 * are reported signalled while their jobs have not run:
 * `fence.signalled_early`.
 */
import { seqnoWrapScenario } from './seqno-wrap.ts';

export default seqnoWrapScenario(true);

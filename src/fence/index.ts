/**
 * The dma-fence family: dma_fence, dma_fence_array, dma_fence_chain,
 * unwrap/merge, and (in `user/`) sync_file, sw_sync and the small userspace
 * they are used from.
 */
export * from './flags.ts';
export * from './callback.ts';
export { DmaFence, dmaFenceInit64 } from './fence.ts';
export type { DmaFenceOps } from './ops.ts';
export { dmaFenceRelease } from './release.ts';
export {
  dmaFenceContextAlloc,
  dmaFenceIsLater,
  dmaFenceIsLaterOrSame,
  dmaFenceLater,
} from './ordering.ts';
export { dmaFenceSetSignaller, dmaFenceSignallers } from './signaller.ts';
export { dmaFenceWaitTimeout, dmaFenceDefaultWait, dmaFenceWaitAnyTimeout, describeWaitedFence } from './wait.ts';
export type { WaitAnyResult } from './wait.ts';
export { dmaFenceGetStub, dmaFenceAllocatePrivateStub, dmaFenceStubOps } from './stub.ts';
export { dmaFencePublish, fenceName } from './rules.ts';
export { dmaFenceCompleted } from './completed.ts';
export * from './event-rules/index.ts';
export * from './array.ts';
export * from './chain.ts';
export * from './unwrap.ts';
export { checkUnwrapMergeResult } from './unwrap-check.ts';
export * from './user/index.ts';

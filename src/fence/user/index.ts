/**
 * The userspace side of explicit synchronisation: processes with fd tables,
 * sync_file, sw_sync, the sync debug dump and eventfd.
 */
export * from './poll.ts';
export * from './file.ts';
export * from './process.ts';
export * from './sync-file.ts';
export * from './sw-sync.ts';
export * from './sync-debug.ts';
export * from './eventfd.ts';
export { isUserStruct, readU32, readS32, readU64, readName } from './args.ts';
export type { UserStruct } from './args.ts';

/**
 * The bottom of this folder: forward declarations of its central classes
 * (the C header's `struct foo;`), so that the files a class is built from
 * can name its type without importing the class's file, which imports them.
 * Each class's file completes its declaration here with the class's members
 * by declaration merging (`interface Foo extends FooClass`), so the type is
 * the full class everywhere; only the import graph changes.
 */

/**
 * A user process: the `UserProcess` class, as the files below process.ts see it
 * (process.ts completes this declaration).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- completed by process.ts (see above)
export interface UserProcess {}

/**
 * `struct sync_timeline`: the `SyncTimeline` class, as the files below sw-sync.ts see it
 * (sw-sync.ts completes this declaration).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- completed by sw-sync.ts (see above)
export interface SyncTimeline {}

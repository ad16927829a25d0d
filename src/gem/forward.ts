/**
 * The bottom of this folder: forward declarations of its central classes
 * (the C header's `struct foo;`), so that the files a class is built from
 * can name its type without importing the class's file, which imports them.
 * Each class's file completes its declaration here with the class's members
 * by declaration merging (`interface Foo extends FooClass`), so the type is
 * the full class everywhere; only the import graph changes.
 */

/**
 * `struct drm_device`: the `DrmDevice` class, as the files below drm-device.ts see it
 * (drm-device.ts completes this declaration; drm_gem.h forward-declares it too).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- completed by drm-device.ts (see above)
export interface DrmDevice {}

/**
 * `struct drm_syncobj`: the `DrmSyncobj` class, as the files below syncobj-object.ts
 * see it (its fence and its waiters; syncobj-object.ts completes this declaration).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- completed by syncobj-object.ts (see above)
export interface DrmSyncobj {}

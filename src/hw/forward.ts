/**
 * The bottom of this folder: forward declarations of its central classes
 * (the C header's `struct foo;`), so that the files a class is built from
 * can name its type without importing the class's file, which imports them.
 * Each class's file completes its declaration here with the class's members
 * by declaration merging (`interface Foo extends FooClass`), so the type is
 * the full class everywhere; only the import graph changes.
 */

/**
 * `struct vfio_pci_core_device`: the `VfioPciDevice` class, as vfio-dmabuf.ts
 * (below vfio-pci.ts, which calls it) sees it (vfio-pci.ts completes this declaration).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- completed by vfio-pci.ts (see above)
export interface VfioPciDevice {}

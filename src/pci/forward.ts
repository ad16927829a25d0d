/**
 * The bottom of this folder: forward declarations of its central classes
 * (the C header's `struct foo;`), so that the files a class is built from
 * can name its type without importing the class's file, which imports them.
 * Each class's file completes its declaration here with the class's members
 * by declaration merging (`interface Foo extends FooClass`), so the type is
 * the full class everywhere; only the import graph changes.
 */

/**
 * `struct pci_dev`: the `PciDev` class, as the files below pci-dev.ts see it
 * (pci-dev.ts completes this declaration).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- completed by pci-dev.ts (see above)
export interface PciDev {}

/**
 * The simulated machine: the `PciSystem` class, as the files below topology.ts see it
 * (topology.ts completes this declaration).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- completed by topology.ts (see above)
export interface PciSystem {}

/**
 * `struct pci_p2pdma`: the `PciP2pdma` class, as the files below p2pdma.ts see it
 * (p2pdma.ts completes this declaration).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- completed by p2pdma.ts (see above)
export interface PciP2pdma {}

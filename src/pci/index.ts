/**
 * The PCI model buffer sharing needs: devices and their DMA parameters, host
 * bridges, root ports, switches, endpoints, SR-IOV, ACS, BARs with their
 * peer-to-peer providers, the P2P classification with distances, and the
 * DMA mapping primitives (dma-direct and a simple IOMMU) that the buffer
 * layer maps scatter tables and physical ranges with. Pure data: nothing
 * here awaits; a `PciSystem` may carry a Kernel for WARN splats.
 */
export * from './structs.ts';
export * from './memory.ts';
export * from './device.ts';
export * from './pci-dev.ts';
export * from './acs.ts';
export * from './sriov.ts';
export * from './topology.ts';
export * from './p2pdma.ts';
export * from './p2pdma-map.ts';
export * from './iommu.ts';
export * from './dma.ts';

// vtcam public API. This stage exports the virtio layer (guest memory, the
// split virtqueue, the virtio-blk driver, device model, transports and
// backends), the SCSI layer (sense, CDB codecs, the SBC emulator), and the
// CAM stack (createStack, the da and pass periphs, CAM status and codes).

export { GuestMemory, type GuestRange } from './virtio/guest-memory.js';
export { GuestAllocator } from './virtio/guest-allocator.js';
export { splitRingLayout, needEvent, type SplitRingLayout } from './virtio/ring-layout.js';
export { type SplitRingAddrs } from './virtio/split-ring.js';
export { SplitVirtqDriver, type VirtqBuffer } from './virtio/split-ring-driver.js';
export { SplitVirtqDevice, type AvailChain, type ChainFault } from './virtio/split-ring-device.js';
export * from './virtio/blk-wire.js';
export * from './virtio/blk-features.js';
export * from './virtio/device-status.js';
export { VIRTIO_BLK_CONFIG_SIZE, VirtioBlkConfigLayout, decodeBlkConfig, encodeBlkConfig, type VirtioBlkConfig } from './virtio/blk-config.js';
export { VirtioBlkDriver, VIRTIO_BLK_DRIVER_FEATURES, type BlkDriverOptions, type BlkDriverError } from './virtio/blk-driver.js';
export { blkOk, type BlkRequest, type BlkCompletion } from './virtio/blk-request.js';
export { VirtioBlkDevice, VIRTIO_ID_BLOCK, VIRTIO_BLK_SUPPORTED_FEATURES, type VirtioBlkDeviceOptions } from './virtio/device/blk-device.js';
export type { BlockBackend, BackendStatus, AllocationExtent } from './virtio/device/backend.js';
export type { BackendShare } from './virtio/device/backend.js';
export * from './virtio/device/backends/index.js';
export type { VirtioTransport, VirtioInterrupt } from './virtio/transport/transport.js';
export { LocalTransport } from './virtio/transport/local.js';
export { attachLocalVirtioBlk, type LocalVirtioBlk, type LocalVirtioBlkOptions } from './virtio/local-stack.js';
export { WorkerTransport, type WorkerTransportOptions } from './virtio/transport/worker.js';
export { attachWorkerVirtioBlk, type WorkerVirtioBlk, type WorkerVirtioBlkOptions } from './virtio/worker-stack.js';
export * from './scsi/index.js';
export { createStack, Stack, type StackOptions, type StackDevice } from './stack.js';
export { CamStatus, CAM_DEV_QFRZN, CAM_AUTOSNS_VALID, CAM_STATUS_MASK, camStatus, camStatusName } from './cam/status.js';
export { XptFunc, TagAction, CamDir, CamPriority, type CamPath, type CcbInitiator } from './cam/ccb.js';
export { AsyncCode } from './cam/async.js';
// The types of stack.xpt and stack.sim and of what they take (XptOptions is StackOptions.xpt; onAsync's
// callback is how AC_LOST_DEVICE is heard): named here, built only by createStack.
export type { Xpt, XptOptions } from './cam/xpt/xpt.js';
export type { CamClock } from './cam/clock.js';
export type { DevqTuning } from './cam/devq-api.js';
export type { ProbeOptions } from './cam/xpt/probe.js';
export type { VtblkSim } from './cam/sim/vtblk/sim.js';
export type { CamDeviceInfo, DevqStats, AsyncCallback } from './cam/xpt/periph-api.js';
export { DaPeriph, type DaOptions, type DaCapacity, type DeleteMethod, type UnitAttentionListener } from './cam/periph/da.js';
export type { RecoveryDelays } from './cam/periph/recovery.js';
export { PassPeriph, PassCommand } from './cam/periph/pass.js';
export { CamError, type CamErrorInit } from './cam/periph/errors.js';
export type { ScsiRequest, ScsiResult, ScsiDirection, ScsiTagAction } from './cam/periph/request.js';
export { IscsiServer, type IscsiServerOptions, type NegotiationOptions, type IscsiTargetConfig, type IscsiLun, type IscsiChapConfig } from './iscsi/server.js';
export { MAX_BUSY_POLL_US, type BusyPollState } from './iscsi/busy-poll.js';
export { DEFAULT_DATA_OUT_BUDGET, type DataOutBudgetState } from './iscsi/data-out-budget.js';
export { DEFAULT_CONNECTION_LIMIT } from './iscsi/connection-limit.js';

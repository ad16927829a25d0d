/**
 * The syncobj flag values of the uapi (`DRM_SYNCOBJ_*` of the create,
 * handle/fd, wait and query ioctls) and the WAIT_FOR_SUBMIT timeout of
 * `drm_syncobj_find_fence`: the bottom of the syncobj files.
 *
 * @kernel include/uapi/drm/drm.h, drivers/gpu/drm/drm_syncobj.c (DRM_SYNCOBJ_WAIT_FOR_SUBMIT_TIMEOUT)
 */

/** `DRM_SYNCOBJ_CREATE_SIGNALED`. */
export const DRM_SYNCOBJ_CREATE_SIGNALED = 1 << 0;
/** `DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE`. */
export const DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE = 1 << 0;
/** `DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_TIMELINE`. */
export const DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_TIMELINE = 1 << 1;
/** `DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE`. */
export const DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE = 1 << 0;
/** `DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_TIMELINE`. */
export const DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_TIMELINE = 1 << 1;
/** `DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL`. */
export const DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL = 1 << 0;
/** `DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT`: wait for a fence to appear, then for it. */
export const DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT = 1 << 1;
/** `DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE`: wait only for the point to appear. */
export const DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE = 1 << 2;
/** `DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE`: set `deadlineNsec` on the fences first. */
export const DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE = 1 << 3;
/** `DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED`. */
export const DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED = 1 << 0;
/** `DRM_SYNCOBJ_WAIT_FOR_SUBMIT_TIMEOUT`: how long `find_fence` waits for a submission (5 s). */
export const DRM_SYNCOBJ_WAIT_FOR_SUBMIT_TIMEOUT_NS = 5_000_000_000;

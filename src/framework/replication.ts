// Where an operation may run in a replicated or HA cluster, decided as the Go
// SDK's framework does it: from the SystemView's replication state, before
// the handler, so that nothing with a side effect starts on the wrong node.
import { ErrorCode, PluginError, READ_ONLY_MESSAGE } from "../shared/errors.ts";
import type { Logger } from "../shared/log.ts";
import type { SystemView } from "./logical.ts";
import type { OperationSpec } from "./path.ts";

/** sdk/helper/consts ReplicationState flags (the same in Vault and OpenBao). */
export const ReplicationState = {
  PerformancePrimary: 1 << 5,
  PerformanceSecondary: 1 << 6,
  PerformanceStandby: 1 << 14,
} as const;

/**
 * For operations that write the mount's replicated storage (configuration,
 * roles): only the active node of the primary cluster may run them.
 */
export const WRITES_REPLICATED_STORAGE = { forwardPerformanceStandby: true, forwardPerformanceSecondary: true } as const;

/**
 * For operations that create a lease or a credential elsewhere: a standby
 * cannot persist the lease, so it must not start; a performance secondary
 * keeps its own leases and runs them itself.
 */
export const CREATES_LEASE = { forwardPerformanceStandby: true } as const;

export function hasReplicationState(state: number, flag: number): boolean {
  return (state & flag) !== 0;
}

/**
 * Throws ErrReadOnly when this node must hand the operation to another: a
 * performance standby for operations flagged forwardPerformanceStandby, a
 * performance secondary for forwardPerformanceSecondary on a non-local mount.
 * The state is asked for once, and only for flagged operations. If the host
 * cannot say (broker gone), the operation runs here, as the Go SDK does: the
 * host's own storage then refuses writes on a standby.
 */
export async function refuseOnWrongNode(spec: OperationSpec, system: SystemView, logger: Logger): Promise<void> {
  const standby = spec.forwardPerformanceStandby === true;
  const secondary = spec.forwardPerformanceSecondary === true;
  if (!standby && !secondary) return;
  let state: number;
  try {
    state = await system.replicationState();
  } catch (error) {
    logger.warn("could not read the replication state; running the operation on this node", {
      error: error instanceof Error ? error.message : String(error),
    });
    return;
  }
  if (standby && hasReplicationState(state, ReplicationState.PerformanceStandby)) {
    throw new PluginError(ErrorCode.ReadOnly, READ_ONLY_MESSAGE);
  }
  if (secondary && hasReplicationState(state, ReplicationState.PerformanceSecondary) && !(await system.localMount())) {
    throw new PluginError(ErrorCode.ReadOnly, READ_ONLY_MESSAGE);
  }
}

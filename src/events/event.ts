// The finished event that flows from normalization through rules, journal and sinks.
// Sinks see only this; how it was captured is gone by then.

export type FieldValue = string | number | boolean;

export interface SysmonEvent {
  /** Sysmon EventID (1, 5, 255, ...) */
  readonly id: number;
  /** EventRecordID; 0 until the journal assigns the next one */
  recordId: number;
  /** wall-clock time the event was captured, ns since the Unix epoch -> TimeCreated */
  readonly timeNs: bigint;
  /** EventData: every schema field of this event, in schema order */
  readonly data: Record<string, FieldValue>;
  /**
   * The container the process runs in (src/events/containers.ts); absent for host processes.
   * Written as JSONL's top-level "Container" object, never inside EventData.
   */
  container?: ContainerContext;
}

/** A container recognised from a cgroup path. */
export interface ContainerContext {
  /** the runtime's container id (64 hex for docker/containerd/cri-o/podman; machine name for nspawn) */
  readonly id: string;
  /** docker, containerd, cri-o, podman, kubernetes, systemd-nspawn, lxc */
  readonly runtime: string;
  /** the cgroup path the id was recognised in */
  readonly cgroup: string;
}

/** Who the events claim to come from: Sysmon for Linux by default, Windows Sysmon on request. */
export interface Identity {
  readonly provider: string;
  readonly providerGuid: string;
  readonly channel: string;
  readonly computer: string;
}

export const LINUX_IDENTITY = {
  provider: 'Linux-Sysmon',
  providerGuid: '{ff032593-a8d3-4f13-b0d6-01fc615a0f97}',
  channel: 'Linux-Sysmon/Operational',
} as const;

export const WINDOWS_IDENTITY = {
  provider: 'Microsoft-Windows-Sysmon',
  providerGuid: '{5770385F-C22A-43E0-BF4C-06F5698FFBD9}',
  channel: 'Microsoft-Windows-Sysmon/Operational',
} as const;

export function makeIdentity(windows: boolean, computer: string): Identity {
  return { ...(windows ? WINDOWS_IDENTITY : LINUX_IDENTITY), computer };
}

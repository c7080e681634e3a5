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

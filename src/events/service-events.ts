// Events the agent writes about itself: 4 (service state), 16 (config change), 255 (error).
import type { SysmonEvent } from './event.js';
import { SCHEMA_VERSION } from './schema.js';
import { nowNs, utcTime } from './time.js';

export const AGENT_VERSION = '0.1.0';

export function serviceState(state: 'Started' | 'Stopped', timeNs = nowNs()): SysmonEvent {
  return {
    id: 4, recordId: 0, timeNs,
    data: { UtcTime: utcTime(timeNs), State: state, Version: AGENT_VERSION, SchemaVersion: SCHEMA_VERSION },
  };
}

export function configChanged(configuration: string, hash: string, timeNs = nowNs()): SysmonEvent {
  return {
    id: 16, recordId: 0, timeNs,
    data: { UtcTime: utcTime(timeNs), Configuration: configuration, ConfigurationFileHash: hash },
  };
}

/** ID names the error class (e.g. "RingDrops", "DecodeError", "ConfigError", "SinkLoss"). */
export function errorReport(id: string, description: string, timeNs = nowNs()): SysmonEvent {
  return {
    id: 255, recordId: 0, timeNs,
    data: { UtcTime: utcTime(timeNs), ID: id, Description: description },
  };
}

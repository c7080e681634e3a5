// Events the agent writes about itself: 4 (service state), 16 (config change), 255 (error).
import { builder, type Built } from './build.js';
import { SCHEMA_VERSION } from './schema.js';
import { nowNs, utcTime } from './time.js';

export const AGENT_VERSION = '0.1.0';

const build4 = builder(4);
const build16 = builder(16);
const build255 = builder(255);

export function serviceState(state: 'Started' | 'Stopped', timeNs = nowNs()): Built<4> {
  return build4(timeNs, { UtcTime: utcTime(timeNs), State: state, Version: AGENT_VERSION, SchemaVersion: SCHEMA_VERSION });
}

export function configChanged(configuration: string, hash: string, timeNs = nowNs()): Built<16> {
  return build16(timeNs, { UtcTime: utcTime(timeNs), Configuration: configuration, ConfigurationFileHash: hash });
}

/** ID names the error class (e.g. "RingDrops", "DecodeError", "ConfigError", "SinkLoss"). */
export function errorReport(id: string, description: string, timeNs = nowNs()): Built<255> {
  return build255(timeNs, { UtcTime: utcTime(timeNs), ID: id, Description: description });
}

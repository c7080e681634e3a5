// Public entry point of the config module.
export { Config, defaultConfig, loadConfigBytes, loadConfigFile, loadConfigText } from './config.js';
export { RuleEngine, finishEvent, type Decision, type DecidedBy, type Explanation } from './engine.js';
export { ConfigError } from './errors.js';
export type { SysmonOptions } from './options.js';
export {
  DEFAULT_MATCH,
  decodeConfigBytes,
  parseConfigText,
  type BlockDef,
  type ConfigWarning,
  type MatchOptions,
  type FilterDef,
  type ParsedConfig,
  type RuleDef,
} from './parse.js';

// The Sysmon event schema: every event, its fields in `sysmon -s` order and their manifest
// types. Generated once from Windows Sysmon 15 `sysmon -s` (schema 4.91) plus the Linux-only
// event 100 of SysmonCommon; this table is the single source of truth for normalizers, the
// rule engine, sinks, the manifest and `-s`. Edit it here, nowhere else.

export type FieldType = 'UnicodeString' | 'GUID' | 'UInt32' | 'UInt16' | 'UInt64' | 'Boolean' | 'HexInt32' | 'HexInt64';

export interface FieldDef {
  readonly name: string;
  readonly type: FieldType;
  /** manifest outType; only win:PID is meaningful beyond the inType default */
  readonly outType?: 'win:PID';
}

export interface EventDef {
  readonly id: number;
  readonly symbol: string;
  /** Sysmon's template name, e.g. "Process Create" */
  readonly template: string;
  /** the config tag under <EventFiltering>; null for events that cannot be filtered (4, 16, 255) */
  readonly ruleName: string | null;
  /** what happens when a config has no block for this event */
  readonly ruleDefault: 'include' | 'exclude' | 'always';
  readonly version: number;
  readonly level: 'Informational' | 'Error';
  readonly fields: readonly FieldDef[];
}

export const SCHEMA_VERSION = '4.91';
export const BINARY_VERSION = '18';

/** A field whose name and type stay literal types, so the builders' types come from this table. */
interface TypedField<N extends string, T extends FieldType> extends FieldDef {
  readonly name: N;
  readonly type: T;
}

function f<const N extends string, const T extends FieldType>(name: N, type: T, outType?: 'win:PID'): TypedField<N, T> {
  return outType ? { name, type, outType } : { name, type };
}

const TABLE = [
  {
    id: 1,
    symbol: 'SYSMONEVENT_CREATE_PROCESS',
    template: 'Process Create',
    ruleName: 'ProcessCreate',
    ruleDefault: 'include',
    version: 5,
    level: 'Informational',
    fields: [
      f('RuleName', 'UnicodeString'),
      f('UtcTime', 'UnicodeString'),
      f('ProcessGuid', 'GUID'),
      f('ProcessId', 'UInt32', 'win:PID'),
      f('Image', 'UnicodeString'),
      f('FileVersion', 'UnicodeString'),
      f('Description', 'UnicodeString'),
      f('Product', 'UnicodeString'),
      f('Company', 'UnicodeString'),
      f('OriginalFileName', 'UnicodeString'),
      f('CommandLine', 'UnicodeString'),
      f('CurrentDirectory', 'UnicodeString'),
      f('User', 'UnicodeString'),
      f('LogonGuid', 'GUID'),
      f('LogonId', 'HexInt64'),
      f('TerminalSessionId', 'UInt32'),
      f('IntegrityLevel', 'UnicodeString'),
      f('Hashes', 'UnicodeString'),
      f('ParentProcessGuid', 'GUID'),
      f('ParentProcessId', 'UInt32', 'win:PID'),
      f('ParentImage', 'UnicodeString'),
      f('ParentCommandLine', 'UnicodeString'),
      f('ParentUser', 'UnicodeString'),
    ],
  },
  {
    id: 2,
    symbol: 'SYSMONEVENT_FILE_TIME',
    template: 'File creation time changed',
    ruleName: 'FileCreateTime',
    ruleDefault: 'exclude',
    version: 5,
    level: 'Informational',
    fields: [
      f('RuleName', 'UnicodeString'),
      f('UtcTime', 'UnicodeString'),
      f('ProcessGuid', 'GUID'),
      f('ProcessId', 'UInt32', 'win:PID'),
      f('Image', 'UnicodeString'),
      f('TargetFilename', 'UnicodeString'),
      f('CreationUtcTime', 'UnicodeString'),
      f('PreviousCreationUtcTime', 'UnicodeString'),
      f('User', 'UnicodeString'),
    ],
  },
  {
    id: 3,
    symbol: 'SYSMONEVENT_NETWORK_CONNECT',
    template: 'Network connection detected',
    ruleName: 'NetworkConnect',
    ruleDefault: 'exclude',
    version: 5,
    level: 'Informational',
    fields: [
      f('RuleName', 'UnicodeString'),
      f('UtcTime', 'UnicodeString'),
      f('ProcessGuid', 'GUID'),
      f('ProcessId', 'UInt32', 'win:PID'),
      f('Image', 'UnicodeString'),
      f('User', 'UnicodeString'),
      f('Protocol', 'UnicodeString'),
      f('Initiated', 'Boolean'),
      f('SourceIsIpv6', 'Boolean'),
      f('SourceIp', 'UnicodeString'),
      f('SourceHostname', 'UnicodeString'),
      f('SourcePort', 'UInt16'),
      f('SourcePortName', 'UnicodeString'),
      f('DestinationIsIpv6', 'Boolean'),
      f('DestinationIp', 'UnicodeString'),
      f('DestinationHostname', 'UnicodeString'),
      f('DestinationPort', 'UInt16'),
      f('DestinationPortName', 'UnicodeString'),
    ],
  },
  {
    id: 4,
    symbol: 'SYSMONEVENT_SERVICE_STATE_CHANGE',
    template: 'Sysmon service state changed',
    ruleName: null,
    ruleDefault: 'always',
    version: 3,
    level: 'Informational',
    fields: [f('UtcTime', 'UnicodeString'), f('State', 'UnicodeString'), f('Version', 'UnicodeString'), f('SchemaVersion', 'UnicodeString')],
  },
  {
    id: 5,
    symbol: 'SYSMONEVENT_PROCESS_TERMINATE',
    template: 'Process terminated',
    ruleName: 'ProcessTerminate',
    ruleDefault: 'include',
    version: 3,
    level: 'Informational',
    fields: [
      f('RuleName', 'UnicodeString'),
      f('UtcTime', 'UnicodeString'),
      f('ProcessGuid', 'GUID'),
      f('ProcessId', 'UInt32', 'win:PID'),
      f('Image', 'UnicodeString'),
      f('User', 'UnicodeString'),
    ],
  },
  {
    id: 6,
    symbol: 'SYSMONEVENT_DRIVER_LOAD',
    template: 'Driver loaded',
    ruleName: 'DriverLoad',
    ruleDefault: 'exclude',
    version: 4,
    level: 'Informational',
    fields: [
      f('RuleName', 'UnicodeString'),
      f('UtcTime', 'UnicodeString'),
      f('ImageLoaded', 'UnicodeString'),
      f('Hashes', 'UnicodeString'),
      f('Signed', 'UnicodeString'),
      f('Signature', 'UnicodeString'),
      f('SignatureStatus', 'UnicodeString'),
    ],
  },
  {
    id: 7,
    symbol: 'SYSMONEVENT_IMAGE_LOAD',
    template: 'Image loaded',
    ruleName: 'ImageLoad',
    ruleDefault: 'exclude',
    version: 3,
    level: 'Informational',
    fields: [
      f('RuleName', 'UnicodeString'),
      f('UtcTime', 'UnicodeString'),
      f('ProcessGuid', 'GUID'),
      f('ProcessId', 'UInt32', 'win:PID'),
      f('Image', 'UnicodeString'),
      f('ImageLoaded', 'UnicodeString'),
      f('FileVersion', 'UnicodeString'),
      f('Description', 'UnicodeString'),
      f('Product', 'UnicodeString'),
      f('Company', 'UnicodeString'),
      f('OriginalFileName', 'UnicodeString'),
      f('Hashes', 'UnicodeString'),
      f('Signed', 'UnicodeString'),
      f('Signature', 'UnicodeString'),
      f('SignatureStatus', 'UnicodeString'),
      f('User', 'UnicodeString'),
    ],
  },
  {
    id: 8,
    symbol: 'SYSMONEVENT_CREATE_REMOTE_THREAD',
    template: 'CreateRemoteThread detected',
    ruleName: 'CreateRemoteThread',
    ruleDefault: 'exclude',
    version: 2,
    level: 'Informational',
    fields: [
      f('RuleName', 'UnicodeString'),
      f('UtcTime', 'UnicodeString'),
      f('SourceProcessGuid', 'GUID'),
      f('SourceProcessId', 'UInt32', 'win:PID'),
      f('SourceImage', 'UnicodeString'),
      f('TargetProcessGuid', 'GUID'),
      f('TargetProcessId', 'UInt32', 'win:PID'),
      f('TargetImage', 'UnicodeString'),
      f('NewThreadId', 'UInt32'),
      f('StartAddress', 'UnicodeString'),
      f('StartModule', 'UnicodeString'),
      f('StartFunction', 'UnicodeString'),
      f('SourceUser', 'UnicodeString'),
      f('TargetUser', 'UnicodeString'),
    ],
  },
  {
    id: 9,
    symbol: 'SYSMONEVENT_RAWACCESS_READ',
    template: 'RawAccessRead detected',
    ruleName: 'RawAccessRead',
    ruleDefault: 'exclude',
    version: 2,
    level: 'Informational',
    fields: [
      f('RuleName', 'UnicodeString'),
      f('UtcTime', 'UnicodeString'),
      f('ProcessGuid', 'GUID'),
      f('ProcessId', 'UInt32', 'win:PID'),
      f('Image', 'UnicodeString'),
      f('Device', 'UnicodeString'),
      f('User', 'UnicodeString'),
    ],
  },
  {
    id: 10,
    symbol: 'SYSMONEVENT_ACCESS_PROCESS',
    template: 'Process accessed',
    ruleName: 'ProcessAccess',
    ruleDefault: 'exclude',
    version: 3,
    level: 'Informational',
    fields: [
      f('RuleName', 'UnicodeString'),
      f('UtcTime', 'UnicodeString'),
      f('SourceProcessGUID', 'GUID'),
      f('SourceProcessId', 'UInt32', 'win:PID'),
      f('SourceThreadId', 'UInt32'),
      f('SourceImage', 'UnicodeString'),
      f('TargetProcessGUID', 'GUID'),
      f('TargetProcessId', 'UInt32', 'win:PID'),
      f('TargetImage', 'UnicodeString'),
      f('GrantedAccess', 'HexInt32'),
      f('CallTrace', 'UnicodeString'),
      f('SourceUser', 'UnicodeString'),
      f('TargetUser', 'UnicodeString'),
    ],
  },
  {
    id: 11,
    symbol: 'SYSMONEVENT_FILE_CREATE',
    template: 'File created',
    ruleName: 'FileCreate',
    ruleDefault: 'exclude',
    version: 2,
    level: 'Informational',
    fields: [
      f('RuleName', 'UnicodeString'),
      f('UtcTime', 'UnicodeString'),
      f('ProcessGuid', 'GUID'),
      f('ProcessId', 'UInt32', 'win:PID'),
      f('Image', 'UnicodeString'),
      f('TargetFilename', 'UnicodeString'),
      f('CreationUtcTime', 'UnicodeString'),
      f('User', 'UnicodeString'),
    ],
  },
  {
    id: 12,
    symbol: 'SYSMONEVENT_REG_KEY',
    template: 'Registry object added or deleted',
    ruleName: 'RegistryEvent',
    ruleDefault: 'exclude',
    version: 2,
    level: 'Informational',
    fields: [
      f('RuleName', 'UnicodeString'),
      f('EventType', 'UnicodeString'),
      f('UtcTime', 'UnicodeString'),
      f('ProcessGuid', 'GUID'),
      f('ProcessId', 'UInt32', 'win:PID'),
      f('Image', 'UnicodeString'),
      f('TargetObject', 'UnicodeString'),
      f('User', 'UnicodeString'),
    ],
  },
  {
    id: 13,
    symbol: 'SYSMONEVENT_REG_SETVALUE',
    template: 'Registry value set',
    ruleName: 'RegistryEvent',
    ruleDefault: 'exclude',
    version: 2,
    level: 'Informational',
    fields: [
      f('RuleName', 'UnicodeString'),
      f('EventType', 'UnicodeString'),
      f('UtcTime', 'UnicodeString'),
      f('ProcessGuid', 'GUID'),
      f('ProcessId', 'UInt32', 'win:PID'),
      f('Image', 'UnicodeString'),
      f('TargetObject', 'UnicodeString'),
      f('Details', 'UnicodeString'),
      f('User', 'UnicodeString'),
    ],
  },
  {
    id: 14,
    symbol: 'SYSMONEVENT_REG_NAME',
    template: 'Registry object renamed',
    ruleName: 'RegistryEvent',
    ruleDefault: 'exclude',
    version: 2,
    level: 'Informational',
    fields: [
      f('RuleName', 'UnicodeString'),
      f('EventType', 'UnicodeString'),
      f('UtcTime', 'UnicodeString'),
      f('ProcessGuid', 'GUID'),
      f('ProcessId', 'UInt32', 'win:PID'),
      f('Image', 'UnicodeString'),
      f('TargetObject', 'UnicodeString'),
      f('NewName', 'UnicodeString'),
      f('User', 'UnicodeString'),
    ],
  },
  {
    id: 15,
    symbol: 'SYSMONEVENT_FILE_CREATE_STREAM_HASH',
    template: 'File stream created',
    ruleName: 'FileCreateStreamHash',
    ruleDefault: 'exclude',
    version: 2,
    level: 'Informational',
    fields: [
      f('RuleName', 'UnicodeString'),
      f('UtcTime', 'UnicodeString'),
      f('ProcessGuid', 'GUID'),
      f('ProcessId', 'UInt32', 'win:PID'),
      f('Image', 'UnicodeString'),
      f('TargetFilename', 'UnicodeString'),
      f('CreationUtcTime', 'UnicodeString'),
      f('Hash', 'UnicodeString'),
      f('Contents', 'UnicodeString'),
      f('User', 'UnicodeString'),
    ],
  },
  {
    id: 16,
    symbol: 'SYSMONEVENT_SERVICE_CONFIGURATION_CHANGE',
    template: 'Sysmon config state changed',
    ruleName: null,
    ruleDefault: 'always',
    version: 3,
    level: 'Informational',
    fields: [f('UtcTime', 'UnicodeString'), f('Configuration', 'UnicodeString'), f('ConfigurationFileHash', 'UnicodeString')],
  },
  {
    id: 17,
    symbol: 'SYSMONEVENT_CREATE_NAMEDPIPE',
    template: 'Pipe Created',
    ruleName: 'PipeEvent',
    ruleDefault: 'exclude',
    version: 1,
    level: 'Informational',
    fields: [
      f('RuleName', 'UnicodeString'),
      f('EventType', 'UnicodeString'),
      f('UtcTime', 'UnicodeString'),
      f('ProcessGuid', 'GUID'),
      f('ProcessId', 'UInt32', 'win:PID'),
      f('PipeName', 'UnicodeString'),
      f('Image', 'UnicodeString'),
      f('User', 'UnicodeString'),
    ],
  },
  {
    id: 18,
    symbol: 'SYSMONEVENT_CONNECT_NAMEDPIPE',
    template: 'Pipe Connected',
    ruleName: 'PipeEvent',
    ruleDefault: 'exclude',
    version: 1,
    level: 'Informational',
    fields: [
      f('RuleName', 'UnicodeString'),
      f('EventType', 'UnicodeString'),
      f('UtcTime', 'UnicodeString'),
      f('ProcessGuid', 'GUID'),
      f('ProcessId', 'UInt32', 'win:PID'),
      f('PipeName', 'UnicodeString'),
      f('Image', 'UnicodeString'),
      f('User', 'UnicodeString'),
    ],
  },
  {
    id: 19,
    symbol: 'SYSMONEVENT_WMI_FILTER',
    template: 'WmiEventFilter activity detected',
    ruleName: 'WmiEvent',
    ruleDefault: 'exclude',
    version: 3,
    level: 'Informational',
    fields: [
      f('RuleName', 'UnicodeString'),
      f('EventType', 'UnicodeString'),
      f('UtcTime', 'UnicodeString'),
      f('Operation', 'UnicodeString'),
      f('User', 'UnicodeString'),
      f('EventNamespace', 'UnicodeString'),
      f('Name', 'UnicodeString'),
      f('Query', 'UnicodeString'),
    ],
  },
  {
    id: 20,
    symbol: 'SYSMONEVENT_WMI_CONSUMER',
    template: 'WmiEventConsumer activity detected',
    ruleName: 'WmiEvent',
    ruleDefault: 'exclude',
    version: 3,
    level: 'Informational',
    fields: [
      f('RuleName', 'UnicodeString'),
      f('EventType', 'UnicodeString'),
      f('UtcTime', 'UnicodeString'),
      f('Operation', 'UnicodeString'),
      f('User', 'UnicodeString'),
      f('Name', 'UnicodeString'),
      f('Type', 'UnicodeString'),
      f('Destination', 'UnicodeString'),
    ],
  },
  {
    id: 21,
    symbol: 'SYSMONEVENT_WMI_BINDING',
    template: 'WmiEventConsumerToFilter activity detected',
    ruleName: 'WmiEvent',
    ruleDefault: 'exclude',
    version: 3,
    level: 'Informational',
    fields: [
      f('RuleName', 'UnicodeString'),
      f('EventType', 'UnicodeString'),
      f('UtcTime', 'UnicodeString'),
      f('Operation', 'UnicodeString'),
      f('User', 'UnicodeString'),
      f('Consumer', 'UnicodeString'),
      f('Filter', 'UnicodeString'),
    ],
  },
  {
    id: 22,
    symbol: 'SYSMONEVENT_DNS_QUERY',
    template: 'Dns query',
    ruleName: 'DnsQuery',
    ruleDefault: 'exclude',
    version: 5,
    level: 'Informational',
    fields: [
      f('RuleName', 'UnicodeString'),
      f('UtcTime', 'UnicodeString'),
      f('ProcessGuid', 'GUID'),
      f('ProcessId', 'UInt32', 'win:PID'),
      f('QueryName', 'UnicodeString'),
      f('QueryStatus', 'UnicodeString'),
      f('QueryResults', 'UnicodeString'),
      f('Image', 'UnicodeString'),
      f('User', 'UnicodeString'),
    ],
  },
  {
    id: 23,
    symbol: 'SYSMONEVENT_FILE_DELETE',
    template: 'File Delete archived',
    ruleName: 'FileDelete',
    ruleDefault: 'exclude',
    version: 5,
    level: 'Informational',
    fields: [
      f('RuleName', 'UnicodeString'),
      f('UtcTime', 'UnicodeString'),
      f('ProcessGuid', 'GUID'),
      f('ProcessId', 'UInt32', 'win:PID'),
      f('User', 'UnicodeString'),
      f('Image', 'UnicodeString'),
      f('TargetFilename', 'UnicodeString'),
      f('Hashes', 'UnicodeString'),
      f('IsExecutable', 'Boolean'),
      f('Archived', 'UnicodeString'),
    ],
  },
  {
    id: 24,
    symbol: 'SYSMONEVENT_CLIPBOARD',
    template: 'Clipboard changed',
    ruleName: 'ClipboardChange',
    ruleDefault: 'exclude',
    version: 5,
    level: 'Informational',
    fields: [
      f('RuleName', 'UnicodeString'),
      f('UtcTime', 'UnicodeString'),
      f('ProcessGuid', 'GUID'),
      f('ProcessId', 'UInt32', 'win:PID'),
      f('Image', 'UnicodeString'),
      f('Session', 'UInt32'),
      f('ClientInfo', 'UnicodeString'),
      f('Hashes', 'UnicodeString'),
      f('Archived', 'UnicodeString'),
      f('User', 'UnicodeString'),
    ],
  },
  {
    id: 25,
    symbol: 'SYSMONEVENT_PROCESS_IMAGE_TAMPERING',
    template: 'Process Tampering',
    ruleName: 'ProcessTampering',
    ruleDefault: 'exclude',
    version: 5,
    level: 'Informational',
    fields: [
      f('RuleName', 'UnicodeString'),
      f('UtcTime', 'UnicodeString'),
      f('ProcessGuid', 'GUID'),
      f('ProcessId', 'UInt32', 'win:PID'),
      f('Image', 'UnicodeString'),
      f('Type', 'UnicodeString'),
      f('User', 'UnicodeString'),
    ],
  },
  {
    id: 26,
    symbol: 'SYSMONEVENT_FILE_DELETE_DETECTED',
    template: 'File Delete logged',
    ruleName: 'FileDeleteDetected',
    ruleDefault: 'exclude',
    version: 5,
    level: 'Informational',
    fields: [
      f('RuleName', 'UnicodeString'),
      f('UtcTime', 'UnicodeString'),
      f('ProcessGuid', 'GUID'),
      f('ProcessId', 'UInt32', 'win:PID'),
      f('User', 'UnicodeString'),
      f('Image', 'UnicodeString'),
      f('TargetFilename', 'UnicodeString'),
      f('Hashes', 'UnicodeString'),
      f('IsExecutable', 'Boolean'),
    ],
  },
  {
    id: 27,
    symbol: 'SYSMONEVENT_FILE_BLOCK_EXE',
    template: 'File Block Executable',
    ruleName: 'FileBlockExecutable',
    ruleDefault: 'exclude',
    version: 5,
    level: 'Informational',
    fields: [
      f('RuleName', 'UnicodeString'),
      f('UtcTime', 'UnicodeString'),
      f('ProcessGuid', 'GUID'),
      f('ProcessId', 'UInt32', 'win:PID'),
      f('User', 'UnicodeString'),
      f('Image', 'UnicodeString'),
      f('TargetFilename', 'UnicodeString'),
      f('Hashes', 'UnicodeString'),
    ],
  },
  {
    id: 28,
    symbol: 'SYSMONEVENT_FILE_BLOCK_SHREDDING',
    template: 'File Block Shredding',
    ruleName: 'FileBlockShredding',
    ruleDefault: 'exclude',
    version: 5,
    level: 'Informational',
    fields: [
      f('RuleName', 'UnicodeString'),
      f('UtcTime', 'UnicodeString'),
      f('ProcessGuid', 'GUID'),
      f('ProcessId', 'UInt32', 'win:PID'),
      f('User', 'UnicodeString'),
      f('Image', 'UnicodeString'),
      f('TargetFilename', 'UnicodeString'),
      f('Hashes', 'UnicodeString'),
      f('IsExecutable', 'Boolean'),
    ],
  },
  {
    id: 29,
    symbol: 'SYSMONEVENT_FILE_EXE_DETECTED',
    template: 'File Executable Detected',
    ruleName: 'FileExecutableDetected',
    ruleDefault: 'exclude',
    version: 5,
    level: 'Informational',
    fields: [
      f('RuleName', 'UnicodeString'),
      f('UtcTime', 'UnicodeString'),
      f('ProcessGuid', 'GUID'),
      f('ProcessId', 'UInt32', 'win:PID'),
      f('User', 'UnicodeString'),
      f('Image', 'UnicodeString'),
      f('TargetFilename', 'UnicodeString'),
      f('Hashes', 'UnicodeString'),
    ],
  },
  {
    id: 100,
    symbol: 'SYSMONEVENT_EBPF_EVENT',
    template: 'eBPF Program Loaded',
    ruleName: 'eBPFEvent',
    ruleDefault: 'exclude',
    version: 1,
    level: 'Informational',
    fields: [
      f('RuleName', 'UnicodeString'),
      f('UtcTime', 'UnicodeString'),
      f('ProcessGuid', 'GUID'),
      f('ProcessId', 'UInt32', 'win:PID'),
      f('Image', 'UnicodeString'),
      f('User', 'UnicodeString'),
      f('BpfCommand', 'UnicodeString'),
      f('BpfProgramType', 'UnicodeString'),
      f('BpfProgramId', 'UInt32'),
      f('BpfProgramName', 'UnicodeString'),
    ],
  },
  {
    id: 255,
    symbol: 'SYSMONEVENT_ERROR',
    template: 'Error report',
    ruleName: null,
    ruleDefault: 'always',
    version: 3,
    level: 'Error',
    fields: [f('UtcTime', 'UnicodeString'), f('ID', 'UnicodeString'), f('Description', 'UnicodeString')],
  },
] as const satisfies readonly EventDef[];

export const EVENTS: readonly EventDef[] = TABLE;

// ---- the table as types: what a builder of each event must be given (src/events/build.ts) ----

type Row = (typeof TABLE)[number];
/** every Sysmon event ID of the schema */
export type EventId = Row['id'];
type RowOf<Id extends EventId> = Extract<Row, { readonly id: Id }>;
type FieldOf<Id extends EventId> = RowOf<Id>['fields'][number];
/** the field names of event `Id` */
export type FieldName<Id extends EventId> = FieldOf<Id>['name'];

/**
 * The value a field holds, by its manifest type. Boolean fields may be '-': Sysmon for Linux
 * writes '-' for FileDelete's IsExecutable (see src/families/file/events.ts).
 */
interface ValueOfType {
  UnicodeString: string;
  GUID: string;
  HexInt32: string;
  HexInt64: string;
  UInt16: number;
  UInt32: number;
  UInt64: number;
  Boolean: boolean | '-';
}

/** EventData of event `Id`: exactly its schema fields, each with its value type. */
export type EventFields<Id extends EventId> = { [F in FieldOf<Id> as F['name']]: ValueOfType[F['type']] };

export interface OptionDef {
  readonly name: string;
  readonly switch: string;
  readonly argument: 'none' | 'optional' | 'required';
  /** false for command-line-only switches */
  readonly configFile: boolean;
  /** true for options that are also event rules (e.g. DnsQuery, NetworkConnect) */
  readonly rule: boolean;
}

export const OPTIONS: readonly OptionDef[] = [
  { name: 'Install', switch: 'i', argument: 'optional', configFile: false, rule: false },
  { name: 'Configuration', switch: 'c', argument: 'optional', configFile: false, rule: false },
  { name: 'UnInstall', switch: 'u', argument: 'optional', configFile: false, rule: false },
  { name: 'Manifest', switch: 'm', argument: 'none', configFile: false, rule: false },
  { name: 'ClipboardInstance', switch: 'z', argument: 'required', configFile: false, rule: false },
  { name: 'DebugMode', switch: 't', argument: 'optional', configFile: false, rule: false },
  { name: 'BTF', switch: 'btf', argument: 'optional', configFile: false, rule: false },
  { name: 'Service', switch: 'service', argument: 'none', configFile: false, rule: false },
  { name: 'PrintSchema', switch: 's', argument: 'optional', configFile: false, rule: false },
  { name: 'NoLogo', switch: 'nologo', argument: 'none', configFile: false, rule: false },
  { name: 'AcceptEula', switch: 'accepteula', argument: 'none', configFile: false, rule: false },
  { name: 'ConfigDefault', switch: '-', argument: 'none', configFile: false, rule: false },
  { name: 'ArchiveDirectory', switch: 'a', argument: 'required', configFile: true, rule: false },
  { name: 'CaptureClipboard', switch: '', argument: 'none', configFile: true, rule: false },
  { name: 'DriverName', switch: 'd', argument: 'required', configFile: true, rule: false },
  { name: 'DnsQuery', switch: 'dns', argument: 'optional', configFile: true, rule: true },
  { name: 'PipeMonitoring', switch: 'g', argument: 'required', configFile: true, rule: true },
  { name: 'HashAlgorithms', switch: 'h', argument: 'required', configFile: true, rule: false },
  { name: 'DnsLookup', switch: '', argument: 'required', configFile: true, rule: false },
  { name: 'DriverQueueSize', switch: '', argument: 'required', configFile: true, rule: false },
  { name: 'SigningQueueSize', switch: '', argument: 'required', configFile: true, rule: false },
  { name: 'ProcessAccess', switch: 'k', argument: 'required', configFile: true, rule: true },
  { name: 'ImageLoad', switch: 'l', argument: 'optional', configFile: true, rule: true },
  { name: 'NetworkConnect', switch: 'n', argument: 'optional', configFile: true, rule: true },
  { name: 'CheckRevocation', switch: 'r', argument: 'optional', configFile: true, rule: false },
  { name: 'FieldSizes', switch: '', argument: 'required', configFile: true, rule: false },
];

export const CONDITIONS = [
  'is',
  'is not',
  'contains',
  'contains any',
  'is any',
  'contains all',
  'excludes',
  'excludes any',
  'excludes all',
  'begin with',
  'not begin with',
  'end with',
  'not end with',
  'less than',
  'more than',
  'image',
] as const;
export type Condition = (typeof CONDITIONS)[number];

const byId = new Map(EVENTS.map((e) => [e.id, e]));

export function eventDef(id: number): EventDef {
  const def = byId.get(id);
  if (!def) throw new Error(`unknown Sysmon event id ${id}`);
  return def;
}

/** All event definitions that share a config tag (RegistryEvent covers 12, 13, 14). */
export function eventsForRuleName(tag: string): EventDef[] {
  return EVENTS.filter((e) => e.ruleName === tag);
}

const SPECIAL_NAMES: Record<number, string> = { 4: 'ServiceStateChange', 16: 'ServiceConfigurationChange', 255: 'Error' };

/** The JSONL "EventName": the config tag, or a fixed name for the unfilterable events. */
export function eventName(id: number): string {
  const def = eventDef(id);
  return def.ruleName ?? SPECIAL_NAMES[id] ?? def.symbol;
}

export function isKnownEvent(id: number): boolean {
  return byId.has(id);
}

// Public API of the journal: see README.md in this folder.
export { Journal } from './journal.js';
export type { FsyncPolicy, JournalOptions, JournalStats, RecoveryCut, RecoveryReport, RetentionOptions, SegmentInfo, WriteOutage } from './journal.js';
export { Fanout, SinkRunner } from './fanout.js';
export type { FanoutOptions, FanoutStats, LossReport, RetryOptions, SinkHealth, SinkStats } from './fanout.js';
export { DiskReader, journalStatus, readJournal, readJournalBatches, snapshotSegments } from './reader.js';
export type { JournalStatus, ReadRange } from './reader.js';
export { readAllCursors } from './cursor.js';
export type { CursorState } from './cursor.js';
export { crc32c } from './crc32c.js';

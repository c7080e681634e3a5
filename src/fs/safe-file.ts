// The one way the agent and the CLI open files they write (docs/safe-files.md).
//
// Root writes these files, often into directories others can write (/tmp) or on hosts where
// fs.protected_symlinks is 0: a symlink planted at the output path must never make root write
// through it (the `convert OUT` -> /etc/passwd case). So:
// - the final component is never followed: O_NOFOLLOW on every open, and a symlink found at
//   the path is refused with an error naming the path (SafeFileError);
// - a new file is created with O_CREAT|O_EXCL (a name planted between a check and the open
//   makes the open fail instead of reusing the planted file);
// - a file whose whole content is replaced (convert/record output, cursors, state files, the
//   -i unit and config) is written to a fresh O_EXCL temporary beside it and renamed over the
//   path: rename(2) replaces a link, never what it points to, and readers never see half a file;
// - the opened thing must be a regular file (not a FIFO or device planted at the name);
// - modes are explicit at creation (umask still applies; callers that need exact bits chmod).
// Directories along the path are the caller's business (file-permissions.ts checks for links in
// world-writable directories; the JSONL sink refuses a symlinked directory there).
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants as C,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  openSync,
  readlinkSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { lstat, open, readlink, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export class SafeFileError extends Error {
  constructor(
    readonly path: string,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** O_NOFOLLOW where the platform has it (Windows: 0, links are checked with lstat instead). */
const NOFOLLOW = C.O_NOFOLLOW ?? 0;

function linkTarget(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '?';
  }
}

/** Turns an open(2) failure into an error that names the path and says why. */
function explain(path: string, what: string, err: unknown): Error {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ELOOP' || (e.code === 'EEXIST' && isLink(path))) {
    return new SafeFileError(
      path,
      `refusing to write ${what} ${path}: it is a symbolic link (ELOOP, to ${linkTarget(path)}); ` + 'remove it or choose another path',
      'ELOOP',
    );
  }
  if (e.code === 'EEXIST') return new SafeFileError(path, `refusing to write ${what} ${path}: it already exists`, 'EEXIST');
  return new SafeFileError(path, `cannot write ${what} ${path}: ${e.code ?? ''} ${e.message.replace(/^[A-Z]+: /, '')}`.replace(/\s+/g, ' '), e.code);
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function notRegular(path: string, what: string): SafeFileError {
  return new SafeFileError(path, `refusing to write ${what} ${path}: it is not a regular file`, 'ENOTREG');
}

/** Refuses a symlink (or anything but a regular file) already at `path`; a missing path is fine. */
export function refuseLink(path: string, what = 'file'): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (st.isSymbolicLink()) throw explain(path, what, Object.assign(new Error('link'), { code: 'ELOOP' }));
  if (!st.isFile()) throw notRegular(path, what);
}

async function checkRegular(fh: FileHandle, path: string, what: string): Promise<void> {
  if (!(await fh.stat()).isFile()) {
    await fh.close();
    throw notRegular(path, what);
  }
}

/** Creates a new file (O_EXCL: fails if anything, a link included, is at the path). */
export async function createNew(path: string, mode: number, what = 'file', read = false): Promise<FileHandle> {
  try {
    return await open(path, (read ? C.O_RDWR : C.O_WRONLY) | C.O_CREAT | C.O_EXCL | NOFOLLOW, mode);
  } catch (e) {
    throw explain(path, what, e);
  }
}

/** Opens an existing regular file for reading and writing (r+), not through a link. */
export async function openExisting(path: string, what = 'file', flags: number = C.O_RDWR): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await open(path, flags | NOFOLLOW);
  } catch (e) {
    throw explain(path, what, e);
  }
  await checkRegular(fh, path, what);
  return fh;
}

/** Opens for appending, creating it if missing (log files that are extended, never replaced). */
export async function openAppend(path: string, mode: number, what = 'file'): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await open(path, C.O_WRONLY | C.O_APPEND | C.O_CREAT | NOFOLLOW, mode);
  } catch (e) {
    throw explain(path, what, e);
  }
  await checkRegular(fh, path, what);
  return fh;
}

function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * A file whose content is replaced as a whole: written to an O_EXCL temporary beside `path`,
 * then commit() renames it over `path` (a link there is replaced, never followed); abort()
 * removes the temporary. Until commit(), `path` keeps its old content.
 */
export class ReplacementFile {
  private done = false;
  private constructor(
    readonly path: string,
    readonly tempPath: string,
    readonly handle: FileHandle,
    private readonly what: string,
  ) {}

  /** Refuses a symlink at `path` up front (the user asked to write there: say so rather than replace the link). */
  static async create(path: string, mode: number, what = 'file', opts: { read?: boolean; allowLink?: boolean } = {}): Promise<ReplacementFile> {
    if (!opts.allowLink) await refuseLinkAsync(path, what);
    const tmp = tempName(path);
    const fh = await createNew(tmp, mode, `${what} (temporary)`, opts.read);
    return new ReplacementFile(path, tmp, fh, what);
  }

  async commit(fsync = true): Promise<void> {
    if (this.done) return;
    this.done = true;
    try {
      if (fsync) await this.handle.datasync();
      await this.handle.close();
      await rename(this.tempPath, this.path);
    } catch (e) {
      await this.handle.close().catch(() => undefined);
      await unlink(this.tempPath).catch(() => undefined);
      throw explain(this.path, this.what, e);
    }
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.handle.close().catch(() => undefined);
    await unlink(this.tempPath).catch(() => undefined);
  }
}

async function refuseLinkAsync(path: string, what: string): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return;
  }
  if (st.isSymbolicLink()) {
    let to = '?';
    try {
      to = await readlink(path);
    } catch {
      /* gone meanwhile */
    }
    throw new SafeFileError(path, `refusing to write ${what} ${path}: it is a symbolic link (ELOOP, to ${to}); remove it or choose another path`, 'ELOOP');
  }
  if (!st.isFile()) throw notRegular(path, what);
}

/** Replaces `path`'s content with `data` (temporary + rename). Async. */
export async function writeReplace(
  path: string,
  data: string | Uint8Array,
  mode: number,
  what = 'file',
  opts: { fsync?: boolean; allowLink?: boolean } = {},
): Promise<void> {
  const f = await ReplacementFile.create(path, mode, what, { allowLink: opts.allowLink });
  try {
    await f.handle.writeFile(data);
  } catch (e) {
    await f.abort();
    throw explain(path, what, e);
  }
  await f.commit(opts.fsync ?? true);
}

/**
 * writeReplace, synchronously, with an exact mode (fchmod after creation, so umask does not
 * matter) and optionally an owner. allowLink: replace a link at the path instead of refusing
 * (state files the agent rewrites every few seconds: refusing would stop them for good).
 */
export function writeReplaceSync(
  path: string,
  data: string | Uint8Array,
  mode: number,
  what = 'file',
  opts: { fsync?: boolean; allowLink?: boolean; owner?: { uid: number; gid: number } } = {},
): void {
  if (!opts.allowLink) refuseLink(path, what);
  const tmp = tempName(path);
  let fd: number;
  try {
    fd = openSync(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL | NOFOLLOW, mode);
  } catch (e) {
    throw explain(tmp, `${what} (temporary)`, e);
  }
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
    if (process.platform !== 'win32') fchmodSync(fd, mode);
    if (opts.owner) fchownSync(fd, opts.owner.uid, opts.owner.gid);
    if (opts.fsync ?? true) fsyncSync(fd);
    if (!fstatSync(fd).isFile()) throw notRegular(tmp, what);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* not created or already renamed */
    }
    throw e instanceof SafeFileError ? e : explain(path, what, e);
  }
}

// AF_UNIX SOCK_DGRAM client (/dev/log) through koffi to libc: Node's dgram has no unix
// datagram sockets. The socket is non-blocking; a full receiver queue (EAGAIN) is retried
// with a short sleep up to a deadline, so a slow syslog daemon slows us instead of losing data.
import koffi from 'koffi';

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const MSG_NOSIGNAL = 0x4000;
const EINTR = 4;
const EAGAIN = 11;

interface Libc {
  socket: (domain: number, type: number, proto: number) => number;
  connect: (fd: number, addr: Buffer, len: number) => number;
  send: (fd: number, buf: Buffer, len: number, flags: number) => number;
  close: (fd: number) => number;
  strerror: (errnum: number) => string;
}

let libc: Libc | null = null;

function lib(): Libc {
  if (libc) return libc;
  const l = koffi.load('libc.so.6');
  libc = {
    socket: l.func('int socket(int, int, int)') as Libc['socket'],
    connect: l.func('int connect(int, const void *, uint32_t)') as Libc['connect'],
    send: l.func('intptr_t send(int, const void *, size_t, int)') as Libc['send'],
    close: l.func('int close(int)') as Libc['close'],
    strerror: l.func('const char *strerror(int)') as Libc['strerror'],
  };
  return libc;
}

export class UnixDgramError extends Error {
  constructor(readonly op: string, readonly errno: number, path: string) {
    super(`unix datagram ${op} ${path}: ${lib().strerror(errno)} (errno ${errno})`);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class UnixDgramSocket {
  private fd = -1;

  constructor(readonly path: string) {}

  get connected(): boolean { return this.fd >= 0; }

  connect(): void {
    const c = lib();
    const pathBytes = Buffer.from(this.path, 'utf8');
    if (pathBytes.length >= 108) throw new Error(`unix socket path too long: ${this.path}`);
    const addr = Buffer.alloc(110);
    addr.writeUInt16LE(AF_UNIX, 0);
    pathBytes.copy(addr, 2);
    const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new UnixDgramError('socket', koffi.errno(), this.path);
    if (c.connect(fd, addr, 2 + pathBytes.length + 1) < 0) {
      const e = koffi.errno();
      c.close(fd);
      throw new UnixDgramError('connect', e, this.path);
    }
    this.fd = fd;
  }

  /** Send one datagram; waits (polling) while the receiver's queue is full, up to timeoutMs. */
  async send(msg: Buffer, timeoutMs: number): Promise<void> {
    const c = lib();
    const deadline = Date.now() + timeoutMs;
    let wait = 1;
    for (;;) {
      if (this.fd < 0) throw new Error(`unix datagram ${this.path}: not connected`);
      const n = c.send(this.fd, msg, msg.length, MSG_NOSIGNAL);
      if (n >= 0) return;
      const e = koffi.errno();
      if (e === EINTR) continue;
      if (e === EAGAIN && Date.now() < deadline) {
        await sleep(wait);
        wait = Math.min(wait * 2, 50);
        continue;
      }
      // ECONNREFUSED/ENOTCONN: the daemon went away (or restarted: a new socket inode)
      this.close();
      throw new UnixDgramError('send', e, this.path);
    }
  }

  close(): void {
    if (this.fd >= 0) { lib().close(this.fd); this.fd = -1; }
  }
}

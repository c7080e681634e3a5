// AF_UNIX SOCK_DGRAM client (/dev/log) through koffi to libc: Node's dgram has no unix
// datagram sockets. The socket is non-blocking; on a full receiver queue (EAGAIN; the kernel
// queues only net.unix.max_dgram_qlen datagrams, default 10) poll(2) runs on koffi's worker
// thread until there is room, up to a deadline, so a slow daemon slows us instead of losing data.
import koffi from 'koffi';

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const MSG_NOSIGNAL = 0x4000;
const EINTR = 4;
const EAGAIN = 11;
const POLLOUT = 0x004;
const SIOCOUTQ = 0x5411;
const MSG_DONTWAIT = 0x40;

interface Libc {
  socket: (domain: number, type: number, proto: number) => number;
  connect: (fd: number, addr: Buffer, len: number) => number;
  send: (fd: number, buf: Buffer, len: number, flags: number) => number;
  close: (fd: number) => number;
  ioctl: (fd: number, req: number, arg: Buffer) => number;
  strerror: (errnum: number) => string;
  /** poll(2) run on koffi's worker thread: waits for POLLOUT without blocking the event loop */
  pollAsync: (fds: Buffer, nfds: number, timeout: number, cb: (err: unknown, res: number) => void) => void;
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
    ioctl: l.func('int ioctl(int, unsigned long, void *)') as Libc['ioctl'],
    strerror: l.func('const char *strerror(int)') as Libc['strerror'],
    pollAsync: (l.func('int poll(void *, unsigned long, int)') as unknown as { async: Libc['pollAsync'] }).async,
  };
  return libc;
}

export class UnixDgramError extends Error {
  constructor(
    readonly op: string,
    readonly errno: number,
    path: string,
  ) {
    super(`unix datagram ${op} ${path}: ${lib().strerror(errno)} (errno ${errno})`);
  }
}

export class UnixDgramSocket {
  private fd = -1;

  constructor(readonly path: string) {}

  get connected(): boolean {
    return this.fd >= 0;
  }

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

  /** Wait until the receiver's queue has room (POLLOUT on a connected unix datagram socket
   *  reflects the peer's queue), at most ms. */
  private waitWritable(ms: number): Promise<void> {
    const pfd = Buffer.alloc(8);
    pfd.writeInt32LE(this.fd, 0);
    pfd.writeInt16LE(POLLOUT, 4);
    return new Promise((resolve, reject) => {
      lib().pollAsync(pfd, 1, Math.max(0, Math.ceil(ms)), (err) => (err ? reject(err as Error) : resolve()));
    });
  }

  /** Send one datagram; waits while the receiver's queue is full, up to timeoutMs. */
  async send(msg: Buffer, timeoutMs: number): Promise<void> {
    const c = lib();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.fd < 0) throw new Error(`unix datagram ${this.path}: not connected`);
      const n = c.send(this.fd, msg, msg.length, MSG_NOSIGNAL);
      if (n >= 0) return;
      const e = koffi.errno();
      if (e === EINTR) continue;
      if (e === EAGAIN && Date.now() < deadline) {
        await this.waitWritable(Math.min(deadline - Date.now(), 100));
        continue;
      }
      // ECONNREFUSED/ENOTCONN: the daemon went away (or restarted: a new socket inode)
      this.close();
      throw new UnixDgramError('send', e, this.path);
    }
  }

  /**
   * Wait until the daemon has read every datagram we sent, then prove it was the daemon (not
   * its death) that emptied the queue.
   *
   * On AF_UNIX the memory of a queued datagram stays charged to the sender until the receiver
   * dequeues it, so SIOCOUTQ (sk_wmem_alloc) reaching 0 means "read or purged". A daemon that
   * exits purges its queue after it is marked dead, and a send to a dead peer fails with
   * ECONNREFUSED; so an empty probe datagram sent after the queue drained tells the two apart.
   * rsyslog and journald ignore empty datagrams.
   */
  async waitConsumed(timeoutMs: number): Promise<void> {
    const c = lib();
    const out = Buffer.alloc(4);
    const deadline = Date.now() + timeoutMs;
    for (let spin = 0; ; spin++) {
      if (this.fd < 0) throw new Error(`unix datagram ${this.path}: not connected`);
      if (c.ioctl(this.fd, SIOCOUTQ, out) < 0) break; // cannot tell: skip the wait
      if (out.readInt32LE(0) === 0) break;
      if (Date.now() > deadline) throw new Error(`unix datagram ${this.path}: daemon did not read for ${timeoutMs} ms`);
      await (spin < 20 ? new Promise<void>((r) => setImmediate(r)) : new Promise<void>((r) => setTimeout(r, 1)));
    }
    const n = c.send(this.fd, Buffer.alloc(0), 0, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      const e = koffi.errno();
      if (e === EAGAIN || e === EINTR) return; // queue full again: the daemon is alive
      this.close();
      throw new UnixDgramError('send', e, this.path);
    }
  }

  close(): void {
    if (this.fd >= 0) {
      lib().close(this.fd);
      this.fd = -1;
    }
  }
}

// TCP_QUICKACK for the RELP connection (Linux, through koffi to libc; Node has no setsockopt).
//
// Why: librelp servers write each "rsp" as its own small segment without TCP_NODELAY, so
// Nagle holds the next answer until our ACK of the previous one arrives. When our window is
// full we have no data to piggyback that ACK on, and Linux delays it up to 40 ms: measured
// against rsyslog's imrelp, ~48 stalls of ~40 ms per 20,000 messages (55% of the time).
// Quick-ack mode is switched off again by the kernel, so it is re-armed after every read.
// Anywhere this cannot work (not Linux, no fd, koffi missing) it does nothing: only speed is lost.
import type net from 'node:net';
import koffi from 'koffi';

const IPPROTO_TCP = 6;
const TCP_QUICKACK = 12;

type SetSockOpt = (fd: number, level: number, name: number, value: Buffer, len: number) => number;
let setsockopt: SetSockOpt | null | undefined;
const ONE = Buffer.from(new Int32Array([1]).buffer);

function load(): SetSockOpt | null {
  if (setsockopt !== undefined) return setsockopt;
  try {
    setsockopt = process.platform === 'linux' ? (koffi.load('libc.so.6').func('int setsockopt(int, int, int, const void *, uint32_t)') as SetSockOpt) : null;
  } catch {
    setsockopt = null;
  }
  return setsockopt;
}

/** the file descriptor under a net.Socket (or under the TCP socket a TLS socket wraps) */
function fdOf(sock: net.Socket): number {
  const s = sock as unknown as { _handle?: { fd?: number }; _parent?: { _handle?: { fd?: number } } };
  const fd = s._handle?.fd ?? s._parent?._handle?.fd ?? -1;
  return typeof fd === 'number' ? fd : -1;
}

/** Returns a function that re-arms quick ACKs on `sock` (call it after each read), or a no-op. */
export function quickAcker(sock: net.Socket): () => void {
  const f = load();
  const fd = fdOf(sock);
  if (!f || fd < 0) return () => {};
  return () => {
    f(fd, IPPROTO_TCP, TCP_QUICKACK, ONE, 4);
  };
}

// udp://, tcp://, tls://HOST:PORT and unix:///dev/log : syslog (RFC 5424/3164).
import type { SinkKind } from '../sink.js';
import { createSyslogSink } from './index.js';

export const syslogSink: SinkKind = {
  kind: 'syslog',
  schemes: ['udp', 'tcp', 'tls', 'unix'],
  usage: 'udp://HOST:PORT, tcp://HOST:PORT, tls://HOST:PORT?ca=FILE, unix:///dev/log (also written syslog:URL or syslog+tls://...); ?format=xml|json',
  // the URL's own query (ca, cert, key, format, ...) is read by the syslog URL parser
  options: {},
  create(url, o, ctx) {
    const format = o.get('format') as 'xml' | 'json' | undefined;
    return createSyslogSink(url, { identity: ctx.identity, format, dialect: ctx.identity.provider === 'Linux-Sysmon' ? 'linux' : 'windows' });
  },
};

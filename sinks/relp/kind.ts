// relp://HOST:PORT and relps://HOST:PORT?ca=FILE : syslog over RELP, acknowledged per message.
import type { SinkKind } from '../sink.js';
import { createRelpSink } from './index.js';

export const relpSink: SinkKind = {
  kind: 'relp',
  schemes: ['relp', 'relps'],
  usage: 'relp://HOST:PORT or relps://HOST:PORT?ca=FILE&cert=FILE&key=FILE (also syslog:relp://...); ?format=xml|json&window=N',
  options: {},
  create(url, o, ctx) {
    const format = o.get('format') as 'xml' | 'json' | undefined;
    return createRelpSink(url, { identity: ctx.identity, format, dialect: ctx.identity.provider === 'Linux-Sysmon' ? 'linux' : 'windows' });
  },
};

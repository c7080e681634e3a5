// The acting process of an event: who the ProcessGuid, ProcessId, Image and User fields (or
// their Source/Target forms) name. Every builder, Linux and Windows, takes one of these; a
// process the table does not know is named by Sysmon's placeholders here and nowhere else.
import { NULL_GUID } from './guid.js';
import { UserNames } from './host.js';

/**
 * What an event says about a process. The process tables' entries (ProcessInfo, WindowsProcess)
 * are Actors themselves, so naming a known process allocates nothing.
 */
export interface Actor {
  readonly guid: string;
  readonly pid: number;
  readonly image: string;
  readonly user: string;
}

let users: UserNames | null = null;

/**
 * The process `pid` as an event names it: `p` when it is known; otherwise `guid` (the null GUID
 * unless the caller could work one out, e.g. from the record's start time), Image '-' and User
 * the name of `uid` when the record carries one, else '-'.
 */
export function actor(p: Actor | undefined, pid: number, guid: string = NULL_GUID, uid?: number): Actor {
  if (p !== undefined) return p.pid === pid ? p : { guid: p.guid, pid, image: p.image, user: p.user };
  return { guid, pid, image: '-', user: uid === undefined ? '-' : (users ??= new UserNames()).name(uid) };
}

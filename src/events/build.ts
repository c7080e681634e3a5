// Event builders compiled from the schema table (src/events/schema.ts): one function per event
// ID whose object literal lists that event's fields in schema order. A call site names the
// fields in any order it likes; the event's EventData always has exactly the schema's fields,
// in the schema's order, because the builder, not the call site, writes the object. The types
// (from the same table) make a missing, extra or misspelt field a compile error.
//
// Why compiled (new Function, once per event ID at start-up) rather than a loop over the
// schema: this runs for every event, and a literal gives each event ID one stable object shape
// (V8 clones a boilerplate), with no per-event loop and nothing allocated beyond the event
// itself: the call site's argument object does not escape an inlined builder, and a known
// process is its table entry (bench/builders.ts measures both).
import type { Actor } from './actor.js';
import type { SysmonEvent } from './event.js';
import { eventDef, type EventFields, type EventId, type FieldName } from './schema.js';

/** the Actor property each acting-process field takes, after its Source/Target prefix */
const ACTOR_PROPERTY: Readonly<Record<string, keyof Actor>> = {
  ProcessGuid: 'guid',
  ProcessGUID: 'guid',
  ProcessId: 'pid',
  Image: 'image',
  User: 'user',
};

type ActorField = 'ProcessGuid' | 'ProcessId' | 'Image' | 'User';
type PairField = `${'Source' | 'Target'}${'ProcessGuid' | 'ProcessGUID' | 'ProcessId' | 'Image' | 'User'}`;

/**
 * How an event names its processes: 'pair' (a source acting on a target: 8, 10), 'actor' (one
 * acting process: every event with a ProcessGuid) or 'none' (4, 6, 16, 19-21, 255).
 */
type Kind<Id extends EventId> = 'SourceProcessId' extends FieldName<Id> ? 'pair' : 'ProcessGuid' extends FieldName<Id> ? 'actor' : 'none';
type Filled<Id extends EventId> = 'RuleName' | (Kind<Id> extends 'pair' ? PairField : Kind<Id> extends 'actor' ? ActorField : never);

/** What a call site gives a builder: the event's fields except RuleName (the rule engine's) and the process fields. */
export type Given<Id extends EventId> = Omit<EventFields<Id>, Filled<Id>>;

/** An event of `Id`, its data typed by its schema fields (so later fills such as Hashes are checked too). */
export type Built<Id extends EventId> = SysmonEvent & { readonly id: Id; readonly data: EventFields<Id> };

export type Builder<Id extends EventId> =
  Kind<Id> extends 'pair'
    ? (timeNs: bigint, source: Actor, target: Actor, fields: Given<Id>) => Built<Id>
    : Kind<Id> extends 'actor'
      ? (timeNs: bigint, actor: Actor, fields: Given<Id>) => Built<Id>
      : (timeNs: bigint, fields: Given<Id>) => Built<Id>;

const IDENTIFIER = /^[A-Za-z][A-Za-z0-9]*$/;

/** The source of event `id`'s builder: `function (timeNs, [a | s, t,] v) { return {...} }`. */
export function builderSource(id: number): string {
  const names = eventDef(id).fields.map((f) => f.name);
  const kind = names.includes('SourceProcessId') ? 'pair' : names.includes('ProcessGuid') ? 'actor' : 'none';
  const value = (name: string): string => {
    if (!IDENTIFIER.test(name)) throw new Error(`event ${id}: field name ${JSON.stringify(name)} is not an identifier`);
    if (name === 'RuleName') return "'-'";
    if (kind === 'actor' && ACTOR_PROPERTY[name]) return `a.${ACTOR_PROPERTY[name]}`;
    if (kind === 'pair') {
      const role = name.startsWith('Source') ? 's' : name.startsWith('Target') ? 't' : null;
      const prop = role && ACTOR_PROPERTY[name.slice(6)];
      if (role && prop) return `${role}.${prop}`;
    }
    return `v.${name}`;
  };
  const params = kind === 'pair' ? 'timeNs, s, t, v' : kind === 'actor' ? 'timeNs, a, v' : 'timeNs, v';
  const data = names.map((n) => `${n}: ${value(n)}`).join(', ');
  return `return function build${id}(${params}) { return { id: ${id}, recordId: 0, timeNs, data: { ${data} } }; };`;
}

const compiled = new Map<number, unknown>();

/** The builder of event `id`, compiled on first use and shared. Call it once per module, not per event. */
export function builder<const Id extends EventId>(id: Id): Builder<Id> {
  let b = compiled.get(id);
  if (b === undefined) {
    // the source comes from the schema table only (names checked as identifiers above)
    b = new Function(builderSource(id))() as unknown;
    compiled.set(id, b);
  }
  return b as Builder<Id>;
}

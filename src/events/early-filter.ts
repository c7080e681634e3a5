// The active config's verdict on an event before its costly enrichment: the image hashes
// (file reads on worker threads) and the container context (a /proc read per new process)
// are filled after normalization. A config that drops the event whatever those fields hold
// (sysmon-modular drops nearly every ProcessCreate and ImageLoad of an exec storm) lets the
// handlers skip that work and the event altogether.
//
// Exact by construction: the same engine decides, on the same fields; an event ID whose rules
// read a field filled later (Hashes, the container extension fields) is never decided early.
// Events kept here are evaluated again, complete, before the journal (src/agent.ts), which
// sets RuleName: early verdicts only ever remove events that rule would remove too.
import type { SysmonEvent } from './event.js';
import { EVENTS } from './schema.js';

/** Fields whose values are not known when the handler builds the event. */
export const LATE_FIELDS: ReadonlySet<string> = new Set(['Hashes', 'ContainerId', 'ContainerRuntime', 'ContainerCgroup']);

/** What the early filter needs from a config (src/config Config). */
export interface EarlyFilterConfig {
  engine: {
    evaluate(ev: SysmonEvent): { keep: boolean };
    blocksFor(id: number): readonly { filters: readonly { field: string }[] }[];
  };
}

export class EarlyFilter {
  private config: EarlyFilterConfig | null = null;
  /** event IDs whose rules read a late field: never decided early */
  private undecidable = new Set<number>();
  /** events dropped here (the agent adds them to its "filtered" count) */
  dropped = 0;

  /** Called by the agent with each config it loads (start and reload); null switches it off. */
  configure(config: EarlyFilterConfig | null): void {
    const undecidable = new Set<number>();
    for (const { id } of config ? EVENTS : []) {
      if (config!.engine.blocksFor(id).some((b) => b.filters.some((f) => LATE_FIELDS.has(f.field)))) undecidable.add(id);
    }
    this.undecidable = undecidable;
    this.config = config;
  }

  /** True when the config drops `ev` whatever its late fields turn out to be. */
  drops(ev: SysmonEvent): boolean {
    const c = this.config;
    if (c === null || this.undecidable.has(ev.id) || c.engine.evaluate(ev).keep) return false;
    this.dropped++;
    return true;
  }
}

/** The agent's one filter, configured with each config it loads. */
export const earlyFilter = new EarlyFilter();

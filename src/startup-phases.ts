// Where the agent's start-up time goes (issue 17: `npm start` to "monitoring" <= 1 s). Each
// phase is the wall time since the previous mark, in ms; the first one (node's own boot and
// the import of every static module) is measured from the process's time origin. The agent
// writes the breakdown to its log at debug level ("startup phases"); bench/startup.ts reads it.

export class StartupPhases {
  readonly phases: Record<string, number> = {};
  private last = 0;

  /** Closes the phase that ended now under `name`; returns its duration in ms. */
  mark(name: string): number {
    const now = performance.now();
    const ms = Math.round((now - this.last) * 10) / 10;
    this.phases[name] = (this.phases[name] ?? 0) + ms;
    this.last = now;
    return ms;
  }

  /** ms since the process's time origin (node's start). */
  get totalMs(): number {
    return Math.round(performance.now());
  }
}

/** The one start-up of this process (the `run` command). */
export const startupPhases = new StartupPhases();

// evaluated first (cli.ts imports this module before any other): node's boot and the load and
// link of the whole static module graph end here; evaluating the other modules comes next
startupPhases.mark('nodeAndModuleLoad');

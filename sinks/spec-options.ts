// ?name=value options of a sink spec, read the same way by every sink kind.

/** A non-negative number option, or undefined when absent; a clear error when it is not a number. */
export function numberOption(o: ReadonlyMap<string, string>, name: string, kind: string): number | undefined {
  const v = o.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new Error(`${kind}: ${name}=${v}: expected a number >= 0`);
  return n;
}

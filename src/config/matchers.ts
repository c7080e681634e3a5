// Multi-pattern structures used by the compiled engine: exact hash, prefix/suffix tries and
// an Aho-Corasick automaton. All work on lower-cased text and report owner ids.

/** Exact matches: lower-cased value -> owners. */
export class ExactIndex {
  readonly map = new Map<string, number[]>();
  add(key: string, owner: number): void {
    const l = this.map.get(key);
    if (l) {
      if (!l.includes(owner)) l.push(owner);
    } else this.map.set(key, [owner]);
  }
  get size(): number {
    return this.map.size;
  }
}

/** Receives owner ids from the tries and pattern ids from the automaton. */
export interface HitSink {
  onHit(owner: number): void;
  onPattern(patternId: number): void;
}

const A = 128; // table transitions for ASCII, a map for the rest

/**
 * ASCII columns of a transition table: only the characters some key uses get a column (column
 * 0: used by none, which ends a trie walk and sends the automaton back to its root). Real
 * configs use ~40 distinct characters, so tables are ~3x smaller than 128 columns per state.
 */
function asciiColumns(keys: Iterable<Map<number, number>>): { cls: Uint8Array; width: number } {
  const cls = new Uint8Array(A);
  let width = 1;
  for (const m of keys) for (const c of m.keys()) if (c < A && cls[c] === 0) cls[c] = width++;
  return { cls, width };
}

/** Prefix trie (or suffix trie when reversed): walking the text visits every stored prefix. */
export class AffixTrie {
  /** child maps while keys are added; folded into `table`/`other` on the first walk */
  private kids: Map<number, number>[] = [new Map()];
  private owners: (number[] | null)[] = [null];
  private cls: Uint8Array = new Uint8Array(A);
  private width = 1;
  private table: Int32Array = new Int32Array(0);
  private other = new Map<number, number>(); // node * 65536 + unit -> node (non-ASCII)
  private built = false;
  size = 0;
  constructor(private readonly reversed: boolean) {}
  add(key: string, owner: number): void {
    if (this.built) throw new Error('AffixTrie: add() after the first walk');
    let n = 0;
    const len = key.length;
    for (let i = 0; i < len; i++) {
      const c = key.charCodeAt(this.reversed ? len - 1 - i : i);
      let m = this.kids[n]!.get(c);
      if (m === undefined) {
        m = this.kids.length;
        this.kids.push(new Map());
        this.owners.push(null);
        this.kids[n]!.set(c, m);
      }
      n = m;
    }
    const o = (this.owners[n] ??= []);
    if (!o.includes(owner)) o.push(owner);
    this.size++;
  }
  get nodeCount(): number {
    return this.owners.length;
  }
  /** bytes of the transition table (for the memory bench) */
  get tableBytes(): number {
    return this.table.byteLength;
  }
  /** folds the child maps into the compact table (done by the first walk if not called) */
  build(): void {
    if (this.built) return;
    const { cls, width } = asciiColumns(this.kids);
    const table = new Int32Array(this.kids.length * width);
    this.kids.forEach((m, n) => {
      for (const [c, t] of m) {
        if (c < A) table[n * width + cls[c]!] = t;
        else this.other.set(n * 65536 + c, t);
      }
    });
    this.cls = cls;
    this.width = width;
    this.table = table;
    this.kids = [];
    this.built = true;
  }
  /** sink.onHit for the owners of every stored key that is a prefix (suffix) of text. */
  walk(text: string, sink: HitSink): void {
    if (!this.built) this.build();
    const owners = this.owners,
      table = this.table,
      cls = this.cls,
      width = this.width;
    let o = owners[0];
    if (o) for (let j = 0; j < o.length; j++) sink.onHit(o[j]!);
    const len = text.length;
    let n = 0;
    for (let i = 0; i < len; i++) {
      const c = text.charCodeAt(this.reversed ? len - 1 - i : i);
      if (c < A) {
        const k = cls[c]!;
        if (k === 0) return;
        n = table[n * width + k]!;
      } else n = this.other.get(n * 65536 + c) ?? 0;
      if (n === 0) return;
      o = owners[n];
      if (o) for (let j = 0; j < o.length; j++) sink.onHit(o[j]!);
    }
  }
}

/** Aho-Corasick over UTF-16 units. Patterns are deduplicated; each found pattern is reported once. */
export class AhoCorasick {
  /** goto edges while patterns are added; folded into `delta`/`other` by build() */
  private next: Map<number, number>[] = [new Map()];
  private fail: number[] = [0];
  /** pattern ids ending exactly at this node */
  private out: number[][] = [[]];
  /** nearest node on the fail chain (excluding self) that has outputs, -1 if none */
  private dict: number[] = [-1];
  private ids: Map<string, number> | null = new Map();
  readonly owners: number[][] = [];
  private emptyPattern = -1;
  private built = false;
  private seen = new Uint32Array(0);
  private gen = 0;
  /** full DFA over the ASCII columns that patterns use: delta[s * width + cls[c]] */
  private cls: Uint8Array = new Uint8Array(A);
  private width = 1;
  private delta: Int32Array = new Int32Array(0);
  /** goto edges on non-ASCII units: s * 65536 + unit -> node (absent: follow fail links) */
  private other = new Map<number, number>();
  /** 1 when the node or a node on its fail chain ends a pattern */
  private emits = new Uint8Array(0);

  add(pattern: string, owner: number): number {
    if (this.built || !this.ids) throw new Error('AhoCorasick: add() after build()');
    let id = this.ids.get(pattern);
    if (id === undefined) {
      id = this.owners.length;
      this.ids.set(pattern, id);
      this.owners.push([]);
      if (pattern === '') this.emptyPattern = id;
      else {
        let s = 0;
        for (let i = 0; i < pattern.length; i++) {
          const c = pattern.charCodeAt(i);
          let t = this.next[s]!.get(c);
          if (t === undefined) {
            t = this.next.length;
            this.next.push(new Map());
            this.fail.push(0);
            this.out.push([]);
            this.dict.push(-1);
            this.next[s]!.set(c, t);
          }
          s = t;
        }
        this.out[s]!.push(id);
      }
    }
    if (!this.owners[id]!.includes(owner)) this.owners[id]!.push(owner);
    return id;
  }

  get patternCount(): number {
    return this.owners.length;
  }
  get nodeCount(): number {
    return this.fail.length;
  }
  /** bytes of the transition table (for the memory bench) */
  get tableBytes(): number {
    return this.delta.byteLength;
  }

  build(): void {
    if (this.built) return;
    const next = this.next;
    const queue: number[] = [];
    for (const t of next[0]!.values()) {
      this.fail[t] = 0;
      queue.push(t);
    }
    for (let qi = 0; qi < queue.length; qi++) {
      const s = queue[qi]!;
      for (const [c, t] of next[s]!) {
        let f = this.fail[s]!;
        while (f !== 0 && !next[f]!.has(c)) f = this.fail[f]!;
        const g = next[f]!.get(c);
        this.fail[t] = g !== undefined && g !== t ? g : 0;
        const ft = this.fail[t]!;
        this.dict[t] = this.out[ft]!.length > 0 ? ft : this.dict[ft]!;
        queue.push(t);
      }
    }
    this.seen = new Uint32Array(this.owners.length);
    const n = next.length;
    const { cls, width } = asciiColumns(next);
    const delta = new Int32Array(n * width);
    this.emits = new Uint8Array(n);
    const used: number[] = [];
    for (let c = 0; c < A; c++) if (cls[c] !== 0) used.push(c);
    // BFS order guarantees fail[s] is complete before s; column 0 (a unit no pattern uses) stays 0: the root
    const order = [0, ...queue];
    for (const st of order) {
      this.emits[st] = this.out[st]!.length > 0 || this.dict[st]! >= 0 ? 1 : 0;
      for (const c of used) {
        const t = next[st]!.get(c);
        const k = cls[c]!;
        delta[st * width + k] = t !== undefined ? t : st === 0 ? 0 : delta[this.fail[st]! * width + k]!;
      }
      for (const [c, t] of next[st]!) if (c >= A) this.other.set(st * 65536 + c, t);
    }
    this.cls = cls;
    this.width = width;
    this.delta = delta;
    this.next = [];
    this.ids = null;
    this.built = true;
  }

  /** sink.onPattern for each distinct pattern found in text (the empty pattern: in any non-empty text). */
  search(text: string, sink: HitSink): void {
    if (!this.built) this.build();
    if (++this.gen === 0xffffffff) {
      this.seen.fill(0);
      this.gen = 1;
    }
    const gen = this.gen;
    const seen = this.seen;
    if (text.length === 0) return;
    if (this.emptyPattern >= 0) {
      seen[this.emptyPattern] = gen;
      sink.onPattern(this.emptyPattern);
    }
    const fail = this.fail,
      out = this.out,
      dict = this.dict,
      delta = this.delta,
      emits = this.emits;
    const cls = this.cls,
      width = this.width,
      other = this.other;
    let s = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < A) s = delta[s * width + cls[c]!]!;
      else {
        let t = other.get(s * 65536 + c);
        while (t === undefined && s !== 0) {
          s = fail[s]!;
          t = other.get(s * 65536 + c);
        }
        s = t ?? 0;
      }
      if (emits[s] === 0) continue;
      for (let k = s; k > 0; k = dict[k]!) {
        const o = out[k]!;
        for (let j = 0; j < o.length; j++) {
          const p = o[j]!;
          if (seen[p] !== gen) {
            seen[p] = gen;
            sink.onPattern(p);
          }
        }
      }
    }
  }
}

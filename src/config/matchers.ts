// Multi-pattern structures used by the compiled engine: exact hash, prefix/suffix tries and
// an Aho-Corasick automaton. All work on lower-cased text and report owner ids.

/** Exact matches: lower-cased value -> owners. */
export class ExactIndex {
  readonly map = new Map<string, number[]>();
  add(key: string, owner: number): void {
    const l = this.map.get(key);
    if (l) { if (!l.includes(owner)) l.push(owner); } else this.map.set(key, [owner]);
  }
  get size(): number { return this.map.size; }
}

/** Receives owner ids from the tries and pattern ids from the automaton. */
export interface HitSink { onHit(owner: number): void; onPattern(patternId: number): void }

const A = 128; // dense transitions for ASCII, a map for the rest

/** Prefix trie (or suffix trie when reversed): walking the text visits every stored prefix. */
export class AffixTrie {
  private ascii = new Int32Array(A * 16);
  private other = new Map<number, number>(); // node * 65536 + unit -> node
  private owners: (number[] | null)[] = [null];
  private nodes = 1;
  size = 0;
  constructor(private readonly reversed: boolean) {}
  private step(n: number, c: number): number {
    return c < A ? this.ascii[n * A + c]! : (this.other.get(n * 65536 + c) ?? 0);
  }
  add(key: string, owner: number): void {
    let n = 0;
    const len = key.length;
    for (let i = 0; i < len; i++) {
      const c = key.charCodeAt(this.reversed ? len - 1 - i : i);
      let m = this.step(n, c);
      if (m === 0) {
        m = this.nodes++;
        this.owners.push(null);
        if (this.ascii.length < this.nodes * A) { const g = new Int32Array(this.ascii.length * 2); g.set(this.ascii); this.ascii = g; }
        if (c < A) this.ascii[n * A + c] = m; else this.other.set(n * 65536 + c, m);
      }
      n = m;
    }
    const o = (this.owners[n] ??= []);
    if (!o.includes(owner)) o.push(owner);
    this.size++;
  }
  /** sink.onHit for the owners of every stored key that is a prefix (suffix) of text. */
  walk(text: string, sink: HitSink): void {
    const owners = this.owners, ascii = this.ascii;
    let o = owners[0];
    if (o) for (let j = 0; j < o.length; j++) sink.onHit(o[j]!);
    const len = text.length;
    let n = 0;
    for (let i = 0; i < len; i++) {
      const c = text.charCodeAt(this.reversed ? len - 1 - i : i);
      n = c < A ? ascii[n * A + c]! : (this.other.get(n * 65536 + c) ?? 0);
      if (n === 0) return;
      o = owners[n];
      if (o) for (let j = 0; j < o.length; j++) sink.onHit(o[j]!);
    }
  }
}

/** Aho-Corasick over UTF-16 units. Patterns are deduplicated; each found pattern is reported once. */
export class AhoCorasick {
  private next: Map<number, number>[] = [new Map()];
  private fail: number[] = [0];
  /** pattern ids ending exactly at this node */
  private out: number[][] = [[]];
  /** nearest node on the fail chain (excluding self) that has outputs, -1 if none */
  private dict: number[] = [-1];
  private readonly ids = new Map<string, number>();
  readonly owners: number[][] = [];
  private emptyPattern = -1;
  private built = false;
  private seen = new Uint32Array(0);
  private gen = 0;
  /** full DFA over ASCII: delta[s * 128 + c] */
  private delta = new Int32Array(0);
  /** 1 when the node or a node on its fail chain ends a pattern */
  private emits = new Uint8Array(0);

  add(pattern: string, owner: number): number {
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
            this.next.push(new Map()); this.fail.push(0); this.out.push([]); this.dict.push(-1);
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

  get patternCount(): number { return this.owners.length; }

  build(): void {
    const queue: number[] = [];
    for (const t of this.next[0]!.values()) { this.fail[t] = 0; queue.push(t); }
    for (let qi = 0; qi < queue.length; qi++) {
      const s = queue[qi]!;
      for (const [c, t] of this.next[s]!) {
        let f = this.fail[s]!;
        while (f !== 0 && !this.next[f]!.has(c)) f = this.fail[f]!;
        const g = this.next[f]!.get(c);
        this.fail[t] = g !== undefined && g !== t ? g : 0;
        const ft = this.fail[t]!;
        this.dict[t] = this.out[ft]!.length > 0 ? ft : this.dict[ft]!;
        queue.push(t);
      }
    }
    this.seen = new Uint32Array(this.owners.length);
    const n = this.next.length;
    this.delta = new Int32Array(n * A);
    this.emits = new Uint8Array(n);
    // BFS order guarantees fail[s] is complete before s
    const order = [0, ...queue];
    for (const st of order) {
      this.emits[st] = this.out[st]!.length > 0 || this.dict[st]! >= 0 ? 1 : 0;
      for (let c = 0; c < A; c++) {
        const t = this.next[st]!.get(c);
        this.delta[st * A + c] = t !== undefined ? t : st === 0 ? 0 : this.delta[this.fail[st]! * A + c]!;
      }
    }
    this.built = true;
  }

  /** sink.onPattern for each distinct pattern found in text (the empty pattern: in any non-empty text). */
  search(text: string, sink: HitSink): void {
    if (!this.built) this.build();
    if (++this.gen === 0xffffffff) { this.seen.fill(0); this.gen = 1; }
    const gen = this.gen;
    const seen = this.seen;
    if (text.length === 0) return;
    if (this.emptyPattern >= 0) { seen[this.emptyPattern] = gen; sink.onPattern(this.emptyPattern); }
    const next = this.next, fail = this.fail, out = this.out, dict = this.dict, delta = this.delta, emits = this.emits;
    let s = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < A) s = delta[s * A + c]!;
      else {
        let t = next[s]!.get(c);
        while (t === undefined && s !== 0) { s = fail[s]!; t = next[s]!.get(c); }
        s = t ?? 0;
      }
      if (emits[s] === 0) continue;
      for (let k = s; k > 0; k = dict[k]!) {
        const o = out[k]!;
        for (let j = 0; j < o.length; j++) {
          const p = o[j]!;
          if (seen[p] !== gen) { seen[p] = gen; sink.onPattern(p); }
        }
      }
    }
  }
}

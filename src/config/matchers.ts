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

interface TrieNode { next: Map<number, TrieNode> | null; owners: number[] | null }

/** Prefix trie (or suffix trie when reversed): walking the text visits every stored prefix. */
export class AffixTrie {
  private readonly root: TrieNode = { next: null, owners: null };
  size = 0;
  constructor(private readonly reversed: boolean) {}
  add(key: string, owner: number): void {
    let n = this.root;
    const len = key.length;
    for (let i = 0; i < len; i++) {
      const c = key.charCodeAt(this.reversed ? len - 1 - i : i);
      if (!n.next) n.next = new Map();
      let m = n.next.get(c);
      if (!m) { m = { next: null, owners: null }; n.next.set(c, m); }
      n = m;
    }
    if (!n.owners) n.owners = [];
    if (!n.owners.includes(owner)) n.owners.push(owner);
    this.size++;
  }
  /** Call `hit` for the owners of every stored key that is a prefix (suffix) of text. */
  walk(text: string, hit: (owner: number) => void): void {
    let n: TrieNode | undefined = this.root;
    const len = text.length;
    if (n.owners) for (const o of n.owners) hit(o);
    for (let i = 0; i < len && n.next; i++) {
      n = n.next.get(text.charCodeAt(this.reversed ? len - 1 - i : i));
      if (!n) return;
      if (n.owners) for (const o of n.owners) hit(o);
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
    this.built = true;
  }

  /** Report each distinct pattern found in text (the empty pattern: found in any non-empty text). */
  search(text: string, hit: (patternId: number) => void): void {
    if (!this.built) this.build();
    if (++this.gen === 0xffffffff) { this.seen.fill(0); this.gen = 1; }
    const gen = this.gen;
    const seen = this.seen;
    if (text.length === 0) return;
    if (this.emptyPattern >= 0) { seen[this.emptyPattern] = gen; hit(this.emptyPattern); }
    const next = this.next, fail = this.fail, out = this.out, dict = this.dict;
    let s = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      let t = next[s]!.get(c);
      while (t === undefined && s !== 0) { s = fail[s]!; t = next[s]!.get(c); }
      s = t ?? 0;
      for (let k = s; k > 0; k = dict[k]!) {
        const o = out[k]!;
        for (let j = 0; j < o.length; j++) {
          const p = o[j]!;
          if (seen[p] !== gen) { seen[p] = gen; hit(p); }
        }
      }
    }
  }
}

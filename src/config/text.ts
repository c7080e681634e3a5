// String helpers shared by the rule compiler: Sysmon's case folding and `;` token rules.
import type { FieldValue } from '../events/event.js';

const charLower = new Map<number, string>();
const SPECIAL = /[\u03a3\ud800-\udfff]/;

/** Per UTF-16 unit lower-casing, like Sysmon's TOWLOWER over each WCHAR (no context rules, no length change). */
export function lower(s: string): string {
  const fast = s.toLowerCase();
  // toLowerCase differs from per-unit folding only when the length changes (U+0130), for the
  // context-dependent final sigma (U+03A3) and for characters outside the BMP (surrogate pairs)
  if (fast.length === s.length && !SPECIAL.test(s)) return fast;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      out += c >= 65 && c <= 90 ? String.fromCharCode(c + 32) : s[i];
      continue;
    }
    let l = charLower.get(c);
    if (l === undefined) {
      const t = String.fromCharCode(c).toLowerCase();
      l = t.length === 1 ? t : c === 0x130 ? 'i' : String.fromCharCode(c);
      charLower.set(c, l);
    }
    out += l;
  }
  return out;
}

// eslint-disable-next-line no-control-regex
const NON_ASCII = /[^\u0000-\u007f]/;

/** Sysmon for Linux's WideTolower (linuxWideChar.c): only A-Z are folded; `Ä` stays `Ä`. */
export function asciiLower(s: string): string {
  if (!NON_ASCII.test(s)) return s.toLowerCase();
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** Sysmon for Linux's WideToupper: only a-z are folded. */
export function asciiUpper(s: string): string {
  if (!NON_ASCII.test(s)) return s.toUpperCase();
  return s.replace(/[a-z]+/g, (m) => m.toUpperCase());
}

/** How a field value reads to the rule engine: numbers in decimal, booleans true/false, absent = ''. */
export function valueText(v: FieldValue | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return String(v);
}

/** `;` tokens with no trimming, as Sysmon's NextItem yields them: "" gives one empty token. */
export function splitTokens(data: string): { token: string; start: number }[] {
  const out: { token: string; start: number }[] = [];
  let start = 0;
  for (;;) {
    const end = data.indexOf(';', start);
    if (end === -1) {
      out.push({ token: data.slice(start), start });
      return out;
    }
    out.push({ token: data.slice(start, end), start });
    start = end + 1;
  }
}

/**
 * Substring patterns of contains any / contains all / excludes any / excludes all.
 * Sysmon searches an empty token with no length limit, i.e. it looks for the rest of the
 * rule text from that point (";b" for the middle token of "a;;b"); a trailing empty token
 * is the empty pattern, found in any non-empty value. Reproduced exactly.
 */
export function substringTokens(data: string): string[] {
  return splitTokens(data).map(({ token, start }) => (token === '' ? data.slice(start) : token));
}

/** Part of a path after the last `\` (Sysmon) and after the last `/` (the --image-basename extension). */
export function imageTails(v: string): [string, string] {
  return [v.slice(v.lastIndexOf('\\') + 1), v.slice(v.lastIndexOf('/') + 1)];
}

export { utf8Prefix } from '../kernel/text.js';

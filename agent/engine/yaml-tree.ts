// A YAML document as a small tree of nodes that remember their line, so config errors can name file and line (yaml parseDocument + LineCounter).
import { LineCounter, parseDocument, isMap, isSeq, isScalar, isPair, isAlias, type Node } from 'yaml';
import { ConfigError } from './config-error.js';

export type YScalar = string | number | boolean | null;

export type YNode =
  | { kind: 'map'; line: number; entries: YEntry[] }
  | { kind: 'seq'; line: number; items: YNode[] }
  | { kind: 'scalar'; line: number; value: YScalar };

export interface YEntry {
  key: string;
  line: number;
  value: YNode;
}

/** Parse YAML text; syntax errors and anchors/aliases (not needed, and a blow-up risk) become ConfigError. */
export function parseYamlTree(text: string, file: string): YNode {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const line = first.pos[0] >= 0 ? lc.linePos(first.pos[0]).line : 1;
    throw new ConfigError(file, line, `YAML syntax: ${first.message.split('\n')[0] ?? ''}`);
  }
  const lineOf = (n: Node | null | undefined): number => {
    const off = n?.range?.[0];
    return off === undefined ? 1 : lc.linePos(off).line;
  };
  const convert = (n: unknown, depth: number): YNode => {
    if (depth > 64) throw new ConfigError(file, 1, 'YAML nested too deeply');
    if (n === null || n === undefined) return { kind: 'scalar', line: 1, value: null };
    if (isAlias(n)) throw new ConfigError(file, lineOf(n), 'YAML aliases are not supported');
    if (isMap(n)) {
      const entries: YEntry[] = [];
      for (const item of n.items) {
        if (!isPair(item)) continue;
        const k = item.key;
        const keyText = isScalar(k) ? String(k.value) : '';
        const keyLine = isScalar(k) ? lineOf(k) : lineOf(n);
        const v = item.value as unknown;
        const value =
          v === null || v === undefined
            ? { kind: 'scalar' as const, line: keyLine, value: null }
            : convert(v, depth + 1);
        entries.push({ key: keyText, line: keyLine, value });
      }
      return { kind: 'map', line: lineOf(n), entries };
    }
    if (isSeq(n)) return { kind: 'seq', line: lineOf(n), items: n.items.map((i) => convert(i, depth + 1)) };
    if (isScalar(n)) {
      const v = n.value;
      const value: YScalar =
        typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null
          ? v
          : String(v);
      return { kind: 'scalar', line: lineOf(n), value };
    }
    return { kind: 'scalar', line: 1, value: null };
  };
  const root = doc.contents;
  if (root === null) return { kind: 'map', line: 1, entries: [] };
  return convert(root, 0);
}

/** Helpers that turn a wrong shape into a ConfigError naming the field. */
export function expectMap(n: YNode, file: string, field: string): YEntry[] {
  if (n.kind !== 'map') throw new ConfigError(file, n.line, `${field}: expected a mapping`);
  return n.entries;
}

export function expectSeqOrScalar(n: YNode, file: string, field: string): YNode[] {
  if (n.kind === 'seq') return n.items;
  if (n.kind === 'scalar' && n.value !== null) return [n];
  throw new ConfigError(file, n.line, `${field}: expected a list`);
}

export function expectString(n: YNode, file: string, field: string): string {
  if (n.kind !== 'scalar' || n.value === null || typeof n.value === 'boolean') {
    throw new ConfigError(file, n.line, `${field}: expected a string`);
  }
  return String(n.value);
}

export function expectStrings(n: YNode, file: string, field: string): string[] {
  return expectSeqOrScalar(n, file, field).map((i, idx) => expectString(i, file, `${field}[${idx}]`));
}

export function expectNumber(n: YNode, file: string, field: string): number {
  if (n.kind !== 'scalar' || typeof n.value !== 'number' || !Number.isFinite(n.value)) {
    throw new ConfigError(file, n.line, `${field}: expected a number`);
  }
  return n.value;
}

export function expectBoolean(n: YNode, file: string, field: string): boolean {
  if (n.kind !== 'scalar' || typeof n.value !== 'boolean')
    throw new ConfigError(file, n.line, `${field}: expected true or false`);
  return n.value;
}

/** "90s", "5m", "1h", "250ms" or a number of seconds → µs. */
export function expectDuration(n: YNode, file: string, field: string): number {
  if (n.kind === 'scalar' && typeof n.value === 'number' && n.value > 0) return Math.round(n.value * 1e6);
  if (n.kind === 'scalar' && typeof n.value === 'string') {
    const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(n.value.trim());
    if (m && m[1] !== undefined && m[2] !== undefined) {
      const unit = { ms: 1e3, s: 1e6, m: 60e6, h: 3600e6, d: 86400e6 }[m[2]] ?? 1e6;
      const v = Number(m[1]) * unit;
      if (v > 0) return Math.round(v);
    }
  }
  throw new ConfigError(file, n.line, `${field}: expected a duration like 60s, 5m or 1h`);
}

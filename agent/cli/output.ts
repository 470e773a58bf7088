// Line output for the CLI: JSON lines or a human "pretty" form, batched writes, quiet on a closed pipe (EPIPE).
import type { EventRecord } from '../protocols/types.js';
import type { FlowRecord } from '../reassembly/types.js';
import type { Endpoint, Finding } from '../wire/finding.js';

export type OutputFormat = 'jsonl' | 'pretty';

/** Strips the in-process numeric fields that are not part of the JSON contract. */
function toJson(rec: EventRecord | FlowRecord | Finding): string {
  return JSON.stringify(rec, (key, value: unknown) =>
    key === 'tsMicros' || key === 'startMicros' || key === 'endMicros' ? undefined : value,
  );
}

function formatFieldValue(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** What a rule tells a reader beyond its title (`rules/*.yaml`): text written by us, never from packets. */
export interface RuleAdvice {
  description: string;
  remediation: string;
}

/** Advice by rule id: the pretty form's last sentence. */
export type AdviceLookup = (rule: string) => RuleAdvice | undefined;

/** An advice lookup over a loaded rule set (`replay --format pretty`). */
export function adviceFrom(rules: readonly (RuleAdvice & { id: string })[]): AdviceLookup {
  const by = new Map(rules.map((r) => [r.id, { description: r.description, remediation: r.remediation }]));
  return (rule) => by.get(rule);
}

/** Evidence keys the pretty form says otherwise (the count and the time range of a repeat). */
const QUIET_EVIDENCE = new Set(['first_seen', 'last_seen', 'repeat_of']);
const MAX_PRETTY_EVIDENCE = 8;
const MAX_PRETTY_VALUE = 80;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Strings in a finding came off the wire (AE titles, client ids, asset names from a site file): control
 * characters would move a terminal's cursor or forge lines, so they are shown escaped.
 */
function printable(s: string, max = MAX_PRETTY_VALUE): string {
  const cut = s.length > max ? `${s.slice(0, max)}…` : s;
  return cut.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** `pacs (10.20.40.10, Siemens)`, or `198.51.100.7:40548 (Cisco Systems, Inc)` for a host without a name. */
function host(e: Endpoint): string {
  const ip = printable(e.ip, 64);
  const addr = e.port !== undefined ? `${ip.includes(':') ? `[${ip}]` : ip}:${e.port}` : ip;
  const vendor = e.vendor !== undefined ? printable(e.vendor, 40) : undefined;
  if (e.name !== undefined) return `${printable(e.name)} (${[addr, vendor].filter(Boolean).join(', ')})`;
  return vendor !== undefined ? `${addr} (${vendor})` : addr;
}

/** Who did what to whom, the initiator first: an inbound association reads as the Internet host connecting in. */
function parties(f: Finding): string {
  const dev = host(f.device);
  if (!f.peer) return `on ${dev}`;
  const peer = host(f.peer);
  const dir = f.direction !== undefined && f.direction !== 'internal' ? ` ${f.direction}` : '';
  if (f.initiator === 'peer') return `${peer} connected${dir} to ${dev}`;
  if (f.initiator === 'device') return `${dev} connected${dir} to ${peer}`;
  // Who opened it is unknown (a capture that began mid-connection, an older agent): say so rather than guess.
  return `on ${dev}, with ${peer}`;
}

function evidenceText(ev: Record<string, unknown>): string {
  const items = Object.entries(ev).filter(([k]) => !QUIET_EVIDENCE.has(k));
  const shown = items
    .slice(0, MAX_PRETTY_EVIDENCE)
    .map(([k, v]) => `${printable(k, 40)} ${printable(formatFieldValue(v))}`);
  if (items.length > MAX_PRETTY_EVIDENCE) shown.push(`+${items.length - MAX_PRETTY_EVIDENCE} more`);
  return shown.join(', ');
}

/**
 * A finding as one sentence a person on call can act on: when, how bad, what kind of record, the rule and its
 * title, who connected to whom (asset names and vendors), the evidence, the count, and the rule's advice.
 */
function prettyFinding(f: Finding, advice?: AdviceLookup): string {
  // What a SOC reads first: a new alert, an update of one (same incident), or a standing exposure.
  const kind =
    f.class === 'exposure'
      ? 'exposure '
      : f.incident !== undefined && f.incident !== f.id
        ? `update of ${printable(f.incident, 8).replace(/…$/, '')} `
        : '';
  const parts = [
    `${printable(f.ts, 40)} ${f.severity.toUpperCase().padEnd(8)} ${kind}${printable(f.rule, 128)}: ${printable(f.title, 200)}`,
  ];
  parts.push(`${parties(f)}`);
  const ev = evidenceText(f.evidence);
  if (ev) parts.push(`evidence: ${ev}`);
  if (f.count !== undefined && f.count > 1) parts.push(`seen ${f.count} times`);
  const a = advice?.(f.rule);
  const say = a ? a.remediation || a.description : '';
  let line = parts.join('; ');
  line += '.';
  if (say) line += ` Advice: ${printable(say.trim(), 400)}`;
  return line;
}

export function formatPretty(rec: EventRecord | FlowRecord | Finding, advice?: AdviceLookup): string {
  switch (rec.kind) {
    case 'finding':
      return prettyFinding(rec, advice);
    case 'event': {
      const fields = Object.entries(rec.fields)
        .map(([k, v]) => `${k}=${formatFieldValue(v)}`)
        .join(' ');
      return `${rec.ts} ${rec.proto} ${rec.type} ${rec.src.ip}:${rec.src.port} -> ${rec.dst.ip}:${rec.dst.port} ${fields}`;
    }
    case 'flow':
      return (
        `${rec.start} flow ${rec.transport}${rec.app ? `/${rec.app}` : ''} ${rec.client.ip}:${rec.client.port} -> ` +
        `${rec.server.ip}:${rec.server.port} pkts=${rec.packets[0]}/${rec.packets[1]} bytes=${rec.bytes[0]}/${rec.bytes[1]} ` +
        `gaps=${rec.gaps} end=${rec.end_reason}`
      );
  }
}

/** One record as its output line (no newline): what `LineWriter.write` prints, for a replay worker to format. */
export function formatLine(
  rec: EventRecord | FlowRecord | Finding,
  format: OutputFormat,
  advice?: AdviceLookup,
): string {
  return format === 'jsonl' ? toJson(rec) : formatPretty(rec, advice);
}

export class LineWriter {
  private chunks: string[] = [];
  private size = 0;
  private closed = false;

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly format: OutputFormat,
    private readonly advice?: AdviceLookup,
  ) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      // A reader that went away (`| head`) is not an error of ours.
      if (err.code === 'EPIPE') this.closed = true;
      else throw err;
    });
  }

  write(rec: EventRecord | FlowRecord | Finding): void {
    if (this.closed) return;
    this.writeLine(formatLine(rec, this.format, this.advice));
  }

  /** A line formatted elsewhere (by `formatLine` in a replay worker). */
  writeLine(line: string): void {
    if (this.closed) return;
    this.chunks.push(line, '\n');
    this.size += line.length + 1;
    if (this.size >= 64 * 1024) this.flush();
  }

  flush(): void {
    if (this.chunks.length === 0 || this.closed) return;
    this.stream.write(this.chunks.join(''));
    this.chunks = [];
    this.size = 0;
  }

  /** Flush and wait until the stream has taken everything. */
  async end(): Promise<void> {
    this.flush();
    if (this.closed) return;
    await new Promise<void>((resolve) => {
      if (this.stream.write('')) resolve();
      else this.stream.once('drain', () => resolve());
    });
  }
}

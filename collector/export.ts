// SIEM export of newly stored findings: JSON lines to a file, syslog RFC 5424 over UDP or TCP (RFC 5426, RFC 6587
// octet counting) with the finding as JSON or as a CEF body (ArcSight CEF rev. 25). Every record carries the finding's
// class (`alert` or `exposure`; exposure reports go out too, marked, so a SIEM can page on alerts only).
import dgram from 'node:dgram';
import { createWriteStream, type WriteStream } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import type { Logger } from 'pino';
import { findingClass, type Finding, type Severity } from '../agent/wire/finding.js';
import { parseTs } from '../agent/wire/time.js';
import type { CollectorMetrics } from './metrics.js';

export interface SyslogTarget {
  host: string;
  port: number;
  proto: 'udp' | 'tcp';
  cef?: boolean;
}

export interface ExportOptions {
  jsonl?: string;
  syslog?: SyslogTarget;
}

/** Syslog facility 4 (security/authorization) per RFC 5424 §6.2.1. */
const FACILITY = 4;
const SYSLOG_SEVERITY: Record<Severity, number> = { critical: 2, high: 3, medium: 4, low: 5, info: 6 };
const CEF_SEVERITY: Record<Severity, number> = { info: 1, low: 3, medium: 5, high: 8, critical: 10 };
/** RFC 5612 documentation enterprise number: stands in until wardwatch has its own PEN. */
const SD_ID = 'wardwatch@32473';
const MAX_QUEUE = 10_000;

function cefHeader(s: string): string {
  return s
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/[\r\n]+/g, ' ');
}

function cefValue(s: string): string {
  return s
    .replace(/\\/g, '\\\\')
    .replace(/=/g, '\\=')
    .replace(/\r?\n|\r/g, '\\n');
}

function sdValue(s: string): string {
  return s.replace(/[\\"\]]/g, (c) => `\\${c}`);
}

/** Printable ASCII without spaces, at most `max` characters, "-" when empty (RFC 5424 §6 header fields). */
function headerField(s: string, max: number): string {
  const v = s.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return v === '' ? '-' : v;
}

export function formatCef(f: Finding, version = '0.1.0'): string {
  const ext: Array<[string, string | number | undefined]> = [
    ['rt', Number.isNaN(parseTs(f.ts)) ? undefined : Math.floor(parseTs(f.ts) / 1000)],
    ['externalId', f.id],
    ['msg', f.title],
    ['app', f.proto],
    ['src', f.device.ip],
    ['smac', f.device.mac],
    ['spt', f.device.port],
    ['dst', f.peer?.ip],
    ['dpt', f.peer?.port],
    ['dmac', f.peer?.mac],
    ['cs1Label', 'attack'],
    ['cs1', f.attack.join(',')],
    ['cs2Label', 'agent'],
    ['cs2', f.agent],
    ['cs3Label', 'flow'],
    ['cs3', f.flow],
    ['cn1Label', 'count'],
    ['cn1', f.count],
    ['cs4Label', 'class'],
    ['cs4', findingClass(f)],
  ];
  const body = ext
    .filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== '')
    .map(([k, v]) => `${k}=${cefValue(String(v))}`)
    .join(' ');
  return `CEF:0|wardwatch|wardwatch|${cefHeader(version)}|${cefHeader(f.rule)}|${cefHeader(f.title)}|${CEF_SEVERITY[f.severity]}|${body}`;
}

/** The finding as one JSON line's object: `class` always present (absent on the wire means alert). */
export function exportRecord(f: Finding): Finding {
  return { ...f, class: findingClass(f) };
}

/** One RFC 5424 message: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG`; MSG is JSON or CEF. */
export function formatSyslog(
  f: Finding,
  opts: { cef?: boolean; hostname?: string; version?: string } = {},
): string {
  const pri = FACILITY * 8 + SYSLOG_SEVERITY[f.severity];
  const host = headerField(opts.hostname ?? os.hostname(), 255);
  const sd = `[${SD_ID} id="${sdValue(f.id)}" rule="${sdValue(f.rule)}" severity="${f.severity}" agent="${sdValue(f.agent)}" class="${findingClass(f)}"]`;
  const msg = opts.cef ? formatCef(f, opts.version) : JSON.stringify(exportRecord(f));
  return `<${pri}>1 ${f.ts} ${host} wardwatch ${process.pid} ${headerField(f.rule, 32)} ${sd} ${msg}`;
}

/** Writes each newly stored finding to the configured targets; a slow or absent target drops (counted), never blocks ingest. */
export class Exporter {
  private jsonl: WriteStream | null = null;
  private udp: dgram.Socket | null = null;
  private tcp: net.Socket | null = null;
  private tcpReady = false;
  private tcpQueue: string[] = [];
  private tcpRetry: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly o: ExportOptions,
    private readonly logger: Logger,
    private readonly metrics: CollectorMetrics,
    private readonly version = '0.1.0',
  ) {
    if (o.jsonl) {
      this.jsonl = createWriteStream(o.jsonl, { flags: 'a' });
      this.jsonl.on('error', (err) => {
        logger.error({ err, file: o.jsonl }, 'export: JSON lines file failed');
        this.jsonl = null;
      });
    }
    if (o.syslog?.proto === 'udp') {
      this.udp = dgram.createSocket(o.syslog.host.includes(':') ? 'udp6' : 'udp4');
      this.udp.on('error', (err) => logger.warn({ err: err.message }, 'export: syslog UDP error'));
      this.udp.unref();
    } else if (o.syslog?.proto === 'tcp') {
      this.connectTcp();
    }
  }

  private connectTcp(): void {
    const s = this.o.syslog;
    if (!s || this.closed) return;
    const sock = net.connect({ host: s.host, port: s.port });
    this.tcp = sock;
    sock.on('connect', () => {
      this.tcpReady = true;
      const q = this.tcpQueue;
      this.tcpQueue = [];
      for (const m of q) sock.write(m);
    });
    sock.on('error', (err) => this.logger.warn({ err: err.message }, 'export: syslog TCP error'));
    sock.on('close', () => {
      this.tcpReady = false;
      this.tcp = null;
      if (this.closed) return;
      this.tcpRetry = setTimeout(() => this.connectTcp(), 2000);
      this.tcpRetry.unref();
    });
  }

  write(findings: readonly Finding[]): void {
    for (const f of findings) {
      if (this.jsonl) this.jsonl.write(`${JSON.stringify(exportRecord(f))}\n`);
      const s = this.o.syslog;
      if (!s) continue;
      const text = formatSyslog(f, { cef: s.cef ?? false, version: this.version });
      if (this.udp) {
        this.udp.send(Buffer.from(text), s.port, s.host, (err) => {
          if (err) this.metrics.exportError('syslog');
        });
      } else {
        // RFC 6587 §3.4.1 octet counting: the length prefix counts bytes, not characters.
        const framed = `${Buffer.byteLength(text)} ${text}`;
        if (this.tcp && this.tcpReady && this.tcp.writableLength < 4 * 1024 * 1024) this.tcp.write(framed);
        else if (this.tcpQueue.length < MAX_QUEUE) this.tcpQueue.push(framed);
        else this.metrics.exportError('syslog');
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.tcpRetry) clearTimeout(this.tcpRetry);
    const j = this.jsonl;
    if (j) await new Promise<void>((resolve) => j.end(() => resolve()));
    this.udp?.close();
    const t = this.tcp;
    if (t) await new Promise<void>((resolve) => t.end(() => resolve()));
  }
}

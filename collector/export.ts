// SIEM export of newly stored findings: JSON lines to a file, syslog RFC 5424 over UDP (RFC 5426), TCP (RFC 6587
// octet counting) or TLS (RFC 5425, octet counting), with the finding as JSON or as a CEF body (export-cef.ts). The
// JSON is our own finding, ECS or OCSF (export-schemas.ts, `--export-format`). Every record carries the finding's
// class (`alert` or `exposure`; exposure reports go out too, marked, so a SIEM can page on alerts only).
import { WARDWATCH_VERSION } from '../agent/wire/version.js';
import dgram from 'node:dgram';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { findingClass, type Finding, type Severity } from '../agent/wire/finding.js';
import { formatCef } from './export-cef.js';
import { formatRecord, type ExportFormat } from './export-schemas.js';
import type { CollectorMetrics } from './metrics.js';

export { formatCef } from './export-cef.js';

export interface SyslogTarget {
  host: string;
  port: number;
  /** `tls`: RFC 5425, the server's certificate checked against `ca` (else the system's CAs) and its name. */
  proto: 'udp' | 'tcp' | 'tls';
  cef?: boolean;
  /** PEM file of the CA(s) that sign the syslog server's certificate (`--syslog-ca`). */
  ca?: string;
}

export interface ExportOptions {
  jsonl?: string;
  /** Shape of the JSON records (JSON lines file and syslog JSON bodies): ours (default), ECS or OCSF. */
  format?: ExportFormat;
  syslog?: SyslogTarget;
}

/** Syslog facility 4 (security/authorization) per RFC 5424 §6.2.1. */
const FACILITY = 4;
const SYSLOG_SEVERITY: Record<Severity, number> = { critical: 2, high: 3, medium: 4, low: 5, info: 6 };
/** RFC 5612 documentation enterprise number: stands in until wardwatch has its own PEN. */
const SD_ID = 'wardwatch@32473';
const MAX_QUEUE = 10_000;

function sdValue(s: string): string {
  return s.replace(/[\\"\]]/g, (c) => `\\${c}`);
}

/** Printable ASCII without spaces, at most `max` characters, "-" when empty (RFC 5424 §6 header fields). */
function headerField(s: string, max: number): string {
  const v = s.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return v === '' ? '-' : v;
}

/** The finding as one JSON line's object: `class` always present (absent on the wire means alert). */
export function exportRecord(f: Finding): Finding {
  return { ...f, class: findingClass(f) };
}

/** One RFC 5424 message: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG`; MSG is JSON or CEF. */
export function formatSyslog(
  f: Finding,
  opts: { cef?: boolean; hostname?: string; version?: string; format?: ExportFormat } = {},
): string {
  const pri = FACILITY * 8 + SYSLOG_SEVERITY[f.severity];
  const host = headerField(opts.hostname ?? os.hostname(), 255);
  const sd = `[${SD_ID} id="${sdValue(f.id)}" rule="${sdValue(f.rule)}" severity="${f.severity}" agent="${sdValue(f.agent)}" class="${findingClass(f)}"]`;
  const msg = opts.cef
    ? formatCef(f, opts.version)
    : JSON.stringify(formatRecord(f, opts.format ?? 'jsonl', opts.version));
  return `<${pri}>1 ${f.ts} ${host} wardwatch ${process.pid} ${headerField(f.rule, 32)} ${sd} ${msg}`;
}

/** Writes each newly stored finding to the configured targets; a slow or absent target drops (counted), never blocks ingest. */
export class Exporter {
  private jsonl: WriteStream | null = null;
  private udp: dgram.Socket | null = null;
  private tcp: net.Socket | null = null;
  private readonly ca: Buffer | undefined;
  private tcpReady = false;
  private tcpQueue: string[] = [];
  private tcpRetry: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly o: ExportOptions,
    private readonly logger: Logger,
    private readonly metrics: CollectorMetrics,
    private readonly version = WARDWATCH_VERSION,
  ) {
    if (o.jsonl) {
      this.jsonl = createWriteStream(o.jsonl, { flags: 'a' });
      this.jsonl.on('error', (err) => {
        logger.error({ err, file: o.jsonl }, 'export: JSON lines file failed');
        this.jsonl = null;
      });
    }
    // Read once at start: a CA file that cannot be read is an error now, not at the first finding.
    this.ca = o.syslog?.ca !== undefined ? readFileSync(o.syslog.ca) : undefined;
    if (o.syslog?.proto === 'udp') {
      this.udp = dgram.createSocket(o.syslog.host.includes(':') ? 'udp6' : 'udp4');
      this.udp.on('error', (err) => logger.warn({ err: err.message }, 'export: syslog UDP error'));
      this.udp.unref();
    } else if (o.syslog?.proto === 'tcp' || o.syslog?.proto === 'tls') {
      this.connectTcp();
    }
  }

  private connectTcp(): void {
    const s = this.o.syslog;
    if (!s || this.closed) return;
    const secure = s.proto === 'tls';
    // RFC 5425 §5.2: the client checks the server's certificate chain and its name (an IP address is checked
    // against the certificate's IP SANs, so no SNI is sent for one).
    const sock = secure
      ? tls.connect({
          host: s.host,
          port: s.port,
          ...(this.ca !== undefined ? { ca: this.ca } : {}),
          ...(net.isIP(s.host) === 0 ? { servername: s.host } : {}),
          minVersion: 'TLSv1.2',
        })
      : net.connect({ host: s.host, port: s.port });
    this.tcp = sock;
    sock.on(secure ? 'secureConnect' : 'connect', () => {
      this.tcpReady = true;
      const q = this.tcpQueue;
      this.tcpQueue = [];
      for (const m of q) sock.write(m);
    });
    sock.on('error', (err) =>
      this.logger.warn({ err: err.message }, `export: syslog ${secure ? 'TLS' : 'TCP'} error`),
    );
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
      const format = this.o.format ?? 'jsonl';
      if (this.jsonl) this.jsonl.write(`${JSON.stringify(formatRecord(f, format, this.version))}\n`);
      const s = this.o.syslog;
      if (!s) continue;
      const text = formatSyslog(f, { cef: s.cef ?? false, version: this.version, format });
      if (this.udp) {
        this.udp.send(Buffer.from(text), s.port, s.host, (err) => {
          if (err) this.metrics.exportError('syslog');
        });
      } else {
        // RFC 6587 §3.4.1 and RFC 5425 §4.3 octet counting: the length prefix counts bytes, not characters.
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

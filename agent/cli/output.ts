// Line output for the CLI: JSON lines or a human "pretty" form, batched writes, quiet on a closed pipe (EPIPE).
import type { EventRecord } from '../protocols/types.js';
import type { FlowRecord } from '../reassembly/types.js';
import type { Finding } from '../wire/finding.js';

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

export function formatPretty(rec: EventRecord | FlowRecord | Finding): string {
  switch (rec.kind) {
    case 'finding': {
      const peer = rec.peer
        ? ` -> ${rec.peer.ip}${rec.peer.port !== undefined ? `:${rec.peer.port}` : ''}`
        : '';
      const count = rec.count && rec.count > 1 ? ` (x${rec.count})` : '';
      // What a SOC reads first: a new alert, an update of one (same incident), or a standing exposure.
      const kind =
        rec.class === 'exposure'
          ? 'exposure '
          : rec.incident !== undefined && rec.incident !== rec.id
            ? `update of ${rec.incident.slice(0, 8)} `
            : '';
      return `${rec.ts} ${rec.severity.toUpperCase().padEnd(8)} ${kind}${rec.rule} ${rec.device.ip}${peer} ${rec.title}${count}`;
    }
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

export class LineWriter {
  private chunks: string[] = [];
  private size = 0;
  private closed = false;

  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly format: OutputFormat,
  ) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      // A reader that went away (`| head`) is not an error of ours.
      if (err.code === 'EPIPE') this.closed = true;
      else throw err;
    });
  }

  write(rec: EventRecord | FlowRecord | Finding): void {
    if (this.closed) return;
    const line = this.format === 'jsonl' ? toJson(rec) : formatPretty(rec);
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

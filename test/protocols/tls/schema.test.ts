// Every field the TLS analyzer emits on every capture with TLS is declared in tlsSchema with its JSON kind (what
// test/protocols/schema-conformance.test.ts will check through the pipeline once tlsSpec is registered), and
// docs/events.md documents each of them.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fieldsOf } from '../../../agent/protocols/schema.js';
import { tlsSchema } from '../../../agent/protocols/tls/events.js';
import type { FieldKind, FieldSpec, FieldValue } from '../../../agent/protocols/types.js';
import { TlsSession } from '../../../agent/protocols/tls/session.js';
import { FIXTURES, HAVE_SHARED, REPO_ROOT, SHARED_CAPTURES } from '../../helpers/paths.js';
import { RecordingSink } from '../../helpers/sink.js';
import * as b from './builders.js';
import { replayTls } from './helpers.js';

function kindOf(v: FieldValue): FieldKind | 'null' {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : (typeof v as 'string' | 'number' | 'boolean');
}

function problems(name: string, v: FieldValue, spec: FieldSpec): string[] {
  const kind = kindOf(v);
  if (kind !== 'null' && kind !== spec.kind) return [`${name}: ${kind}, schema says ${spec.kind}`];
  if (!spec.keys) return [];
  const out: string[] = [];
  for (const e of Array.isArray(v) ? v : [v]) {
    if (e === null || typeof e !== 'object' || Array.isArray(e)) continue;
    for (const [k, sub] of Object.entries(e)) {
      const ks = spec.keys[k];
      out.push(...(ks ? problems(`${name}.${k}`, sub, ks) : [`${name}.${k}: not in the schema`]));
    }
  }
  return out;
}

function check(type: string, fields: Record<string, FieldValue>): string[] {
  const spec = fieldsOf(tlsSchema, type);
  if (!spec) return [`type ${type} not in the schema`];
  return Object.entries(fields).flatMap(([k, v]) => {
    const s = spec[k];
    return s ? problems(`${type}.${k}`, v, s) : [`${type}.${k}: not in the schema`];
  });
}

const CAPTURES = [
  ...[
    'tls10-legacy.pcap',
    'tls12-dicom.pcap',
    'tls12-mutual-mqtt.pcap',
    'tls13-https.pcap',
    'mqtt-mosquitto-tls12.pcap',
    'dicom-dcmtk-tls.pcap',
    'tls-refused.pcap',
    'tls12-untrusted.pcap',
  ].map((f) => path.join(FIXTURES, 'tls', f)),
  ...(HAVE_SHARED
    ? ['other/zeek-tls_hrr.pcap', 'dicom/tapirxl-synthetic_philips_demo.pcap'].map((f) =>
        path.join(SHARED_CAPTURES, f),
      )
    : []),
];

describe('tlsSchema describes what the analyzer emits', () => {
  const seen = new Set<string>();

  it.each(CAPTURES)('%s', async (file) => {
    const { events } = await replayTls(file);
    const bad = events.flatMap((e) => {
      seen.add(e.type);
      return check(e.type, e.fields);
    });
    expect(bad).toEqual([]);
  });

  it('anomalies carry only declared fields, and only declared codes', () => {
    const sink = new RecordingSink();
    const s = new TlsSession(sink, { maxHandshakeBytes: 100, maxChain: 1 });
    const ch = b.hsRecord(b.handshake(1, b.clientHelloBody({ extensions: [] })));
    s.onData(0, Uint8Array.from(ch), 1);
    const pieces = [
      b.hsRecord(b.handshake(1, b.clientHelloBody({}))),
      b.hsRecord(b.handshake(11, b.certificateBody([[0x30, 0], [1]]))),
      b.hsRecord(b.handshake(2, [1, 2])),
      b.hsRecord(b.handshake(11, new Array<number>(200).fill(0))),
      [0x16, 3, 9, 0, 1, 0],
    ];
    for (const p of pieces) s.onData(1, Uint8Array.from(p), 2);
    s.onGap(0, 10, 3);
    const anomalies = sink.out.filter((r) => r.kind === 'anomaly');
    expect(new Set(anomalies.map((a) => a.type)).size).toBeGreaterThanOrEqual(6);
    for (const a of anomalies) {
      expect(Object.keys(tlsSchema.anomalies)).toContain(a.type);
      expect(check('anomaly', { code: a.type, ...a.fields })).toEqual([]);
    }
  });

  it('saw every event type', () => {
    expect([...seen].sort()).toEqual(['alert', 'certificate', 'client_hello', 'server_hello']);
  });
});

describe('docs/events.md documents tlsSchema', () => {
  const doc = readFileSync(path.join(REPO_ROOT, 'docs/events.md'), 'utf8');
  const section = doc.slice(doc.indexOf('### tls'), doc.indexOf('<!-- end tls -->'));

  it('every event type, field and anomaly code', () => {
    const missing: string[] = [];
    for (const [type, spec] of Object.entries(tlsSchema.events)) {
      if (!section.includes(`**${type}**`)) missing.push(type);
      for (const [f, fs] of Object.entries(spec.fields)) {
        if (!section.includes(`\`${f}\``)) missing.push(`${type}.${f}`);
        for (const k of Object.keys(fs.keys ?? {}))
          if (!section.includes(`\`${f}.${k}\``)) missing.push(`${f}.${k}`);
      }
    }
    for (const code of Object.keys(tlsSchema.anomalies))
      if (!section.includes(`\`${code}\``)) missing.push(code);
    expect(missing).toEqual([]);
  });
});

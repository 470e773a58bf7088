// The TLS session: record and handshake reassembly however the bytes are cut, the stop once encryption starts,
// caps, gaps, anomalies and the probe.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeTls } from '../../../agent/protocols/tls/index.js';
import {
  parseCertificateList,
  parseClientHello,
  parseServerHello,
} from '../../../agent/protocols/tls/parse.js';
import { TlsSession } from '../../../agent/protocols/tls/session.js';
import { CertCache, describeCertificate, sanDnsNames } from '../../../agent/protocols/tls/x509.js';
import type { Direction } from '../../../agent/protocols/types.js';
import { RecordingSink } from '../../helpers/sink.js';
import * as b from './builders.js';

const HAVE_OPENSSL = existsSync('/usr/bin/openssl');

const clientHello = (): number[] =>
  b.handshake(
    1,
    b.clientHelloBody({
      ciphers: [0x1a1a, 0x1301, 0xc02f],
      extensions: [
        b.sniExt('pacs.ward3.example'),
        b.alpnExt([b.ascii('dicom'), b.ascii('http/1.1')]),
        b.versionsExt([0x0304, 0x0303]),
        b.groupsExt([0x001d]),
        b.sigAlgsExt([0x0403, 0x0804]),
      ],
    }),
  );
const serverHello12 = (): number[] =>
  b.handshake(2, b.serverHelloBody({ cipher: 0xc02f, extensions: [b.alpnExt([b.ascii('dicom')])] }));
const serverHello13 = (): number[] =>
  b.handshake(2, b.serverHelloBody({ cipher: 0x1301, extensions: [b.ext(43, b.u16(0x0304))] }));

/** Feeds a list of [direction, bytes] pieces and returns the sink. */
function run(
  pieces: Array<[Direction, number[]]>,
  s?: TlsSession,
  sink = new RecordingSink(),
): RecordingSink {
  const session = s ?? new TlsSession(sink);
  let ts = 1;
  for (const [dir, bytes] of pieces) session.onData(dir, Uint8Array.from(bytes), ts++);
  return sink;
}

/** The same stream cut into pieces of `size` bytes. */
const chop = (dir: Direction, bytes: number[], size: number): Array<[Direction, number[]]> => {
  const out: Array<[Direction, number[]]> = [];
  for (let i = 0; i < bytes.length; i += size) out.push([dir, bytes.slice(i, i + size)]);
  return out;
};

describe('record and handshake reassembly', () => {
  const whole = b.hsRecord(clientHello());

  it('a ClientHello in one record gives one event with its fields', () => {
    const sink = run([[0, whole]]);
    expect(sink.confirmed).toBe(1);
    const [ev] = sink.events();
    expect(ev?.type).toBe('client_hello');
    expect(ev?.fields).toMatchObject({
      version: 'TLS 1.3',
      version_code: 0x0304,
      legacy_version: 'TLS 1.2',
      sni: 'pacs.ward3.example',
      alpn: ['dicom', 'http/1.1'],
      cipher_suites: [0x1a1a, 0x1301, 0xc02f],
      extensions: [0, 16, 43, 10, 13],
      supported_versions: [0x0304, 0x0303],
      supported_groups: [0x001d],
      signature_algorithms: [0x0403, 0x0804],
      retry: false,
    });
    expect(ev?.fields.ja4).toMatch(/^t13d0205dm_[0-9a-f]{12}_[0-9a-f]{12}$/);
  });

  it.each([1, 2, 3, 5, 7, 64])('bytes cut every %i give the same event', (size) => {
    const ref = run([[0, whole]]).events();
    const sink = run(chop(0, whole, size));
    expect(sink.events()).toEqual(ref.map((e, i) => ({ ...e, ts: sink.events()[i]?.ts })));
    expect(sink.anomalies()).toEqual([]);
  });

  it('a handshake message split across records, and several messages in one record', () => {
    const ch = clientHello();
    const split = [
      ...b.hsRecord(ch.slice(0, 10)),
      ...b.hsRecord(ch.slice(10, 50)),
      ...b.hsRecord(ch.slice(50)),
    ];
    expect(
      run([[0, split]])
        .events()
        .map((e) => e.type),
    ).toEqual(['client_hello']);
    const two = b.hsRecord([...serverHello12(), ...b.handshake(14, [])]);
    const sink = run([
      [0, whole],
      [1, two],
    ]);
    expect(sink.events().map((e) => e.type)).toEqual(['client_hello', 'server_hello']);
    expect(sink.events()[1]?.fields).toMatchObject({
      version: 'TLS 1.2',
      cipher_suite: 0xc02f,
      alpn: 'dicom',
    });
  });

  it('several records in one segment', () => {
    const sink = run([[1, [...b.hsRecord(serverHello12()), ...b.hsRecord(b.handshake(14, []))]]], undefined);
    expect(sink.events().map((e) => e.type)).toEqual(['server_hello']);
  });
});

describe('after the handshake only counting', () => {
  it('TLS 1.2: nothing is parsed or kept after ChangeCipherSpec', () => {
    const sink = new RecordingSink();
    const s = new TlsSession(sink);
    run([[0, b.hsRecord(clientHello())]], s, sink);
    run([[1, [...b.hsRecord(serverHello12()), ...b.CCS]]], s, sink);
    // A ClientHello-shaped record after the server's CCS is an encrypted Finished to us: not parsed.
    run(
      [
        [
          1,
          b.hsRecord(
            b.handshake(1, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
          ),
        ],
      ],
      s,
      sink,
    );
    run([[0, [...b.CCS, ...b.hsRecord(clientHello()), ...b.appData(3000)]]], s, sink);
    expect(sink.events().map((e) => e.type)).toEqual(['client_hello', 'server_hello']);
    expect(sink.anomalies()).toEqual([]);
    expect(s.bufferedBytes()).toBe(0);
    expect(s.stats.bytesAfterHandshake).toBeGreaterThan(3000);
  });

  it('TLS 1.3: the server is done after its ServerHello; a partial message is dropped', () => {
    const sink = new RecordingSink();
    const s = new TlsSession(sink);
    const ch = b.hsRecord(clientHello());
    run([[0, ch]], s, sink);
    run([[1, [...b.hsRecord(serverHello13()), ...b.hsRecord(b.handshake(11, [1, 2, 3]))]]], s, sink);
    expect(sink.events().map((e) => e.type)).toEqual(['client_hello', 'server_hello']);
    expect(sink.events()[1]?.fields.version).toBe('TLS 1.3');
    // The client starts a (fake) big message and then the stream ends: the buffer goes.
    run([[0, b.hsRecord(b.handshake(1, new Array<number>(3000).fill(0))).slice(0, 2000)]], s, sink);
    expect(s.bufferedBytes()).toBeGreaterThan(0);
    s.onEnd(0, 9);
    expect(s.bufferedBytes()).toBe(0);
  });

  it('HelloRetryRequest: the compat CCS does not stop the second ClientHello or the final ServerHello', () => {
    const hrr = b.handshake(
      2,
      b.serverHelloBody({ cipher: 0x1302, random: b.HRR_RANDOM, extensions: [b.ext(43, b.u16(0x0304))] }),
    );
    const sink = run([
      [0, b.hsRecord(clientHello())],
      [1, [...b.hsRecord(hrr), ...b.CCS]],
      [0, [...b.CCS, ...b.hsRecord(clientHello())]],
      [1, b.hsRecord(serverHello13())],
    ]);
    const evs = sink.events();
    expect(evs.map((e) => [e.type, e.fields.retry ?? e.fields.hello_retry_request])).toEqual([
      ['client_hello', false],
      ['server_hello', true],
      ['client_hello', true],
      ['server_hello', false],
    ]);
  });
});

describe('alerts in clear', () => {
  it('an alert split across records, two in one record; encrypted ones (after CCS) are not read', () => {
    const sink = run([
      [0, b.hsRecord(clientHello())],
      [1, [...b.record(21, [2]), ...b.record(21, [40])]],
      [0, b.record(21, [1, 0, 2, 112])],
      [0, [...b.CCS, ...b.record(21, [9, 9])]],
    ]);
    expect(
      sink
        .events()
        .filter((e) => e.type === 'alert')
        .map((e) => [e.dir, e.fields]),
    ).toEqual([
      [1, { level: 2, description: 40, description_name: 'handshake_failure' }],
      [0, { level: 1, description: 0, description_name: 'close_notify' }],
      [0, { level: 2, description: 112, description_name: 'unrecognized_name' }],
    ]);
  });

  it('at most 16 alert events per flow, the rest counted; an unnamed code has no name', () => {
    const sink = new RecordingSink();
    const s = new TlsSession(sink);
    run([[0, b.hsRecord(clientHello())]], s, sink);
    run(
      [
        [
          1,
          b.record(
            21,
            new Array<number>(40).fill(0).flatMap(() => [1, 250]),
          ),
        ],
      ],
      s,
      sink,
    );
    const alerts = sink.events().filter((e) => e.type === 'alert');
    expect(alerts.length).toBe(16);
    expect(alerts[0]?.fields).toEqual({ level: 1, description: 250 });
    expect(s.stats.alerts).toBe(40);
  });
});

describe('caps and anomalies', () => {
  it('a handshake message over the cap is skipped by length, never buffered', () => {
    const sink = new RecordingSink();
    const s = new TlsSession(sink, { maxHandshakeBytes: 1000 });
    const big = b.handshake(11, b.certificateBody([new Array<number>(5000).fill(7)]));
    const recs = chop(1, big, 4000).flatMap(([, p]) => b.hsRecord(p));
    run([[0, b.hsRecord(clientHello())]], s, sink);
    let peak = 0;
    for (const [dir, piece] of chop(1, recs, 700)) {
      s.onData(dir, Uint8Array.from(piece), 2);
      peak = Math.max(peak, s.bufferedBytes());
    }
    run([[1, b.hsRecord(serverHello12())]], s, sink);
    expect(peak).toBe(0);
    expect(sink.anomalies()).toEqual(['tls.handshake_too_large']);
    expect(sink.out.find((r) => r.kind === 'anomaly')?.fields).toMatchObject({
      handshake_type: 11,
      bytes: 5006,
    });
    // Framing survived the skip: the ServerHello after it is read.
    expect(sink.events().map((e) => e.type)).toEqual(['client_hello', 'server_hello']);
  });

  it('a certificate over the DER cap is listed by size and hash, and the chain past its cap is counted', () => {
    const sink = new RecordingSink();
    const s = new TlsSession(sink, { maxCertBytes: 100, maxChain: 2 });
    const big = new Array<number>(300).fill(0x30);
    const msg = b.hsRecord(b.handshake(11, b.certificateBody([big, [0x30, 0], [1], [2]])));
    run([[1, [...b.hsRecord(serverHello12()), ...msg]]], s, sink);
    expect(sink.anomalies()).toEqual([
      'tls.chain_too_long',
      'tls.certificate_too_large',
      'tls.bad_certificate',
    ]);
    const cert = sink.events().find((e) => e.type === 'certificate')?.fields;
    expect(cert?.count).toBe(4);
    expect(cert?.certs_cut).toBe(2);
    expect(cert?.certs).toEqual([
      { sha256: createHash('sha256').update(Uint8Array.from(big)).digest('hex'), der_bytes: 300 },
      {
        sha256: createHash('sha256')
          .update(Uint8Array.from([0x30, 0]))
          .digest('hex'),
        der_bytes: 2,
      },
    ]);
    // The leaf's fields are flattened on the event.
    expect(cert?.der_bytes).toBe(300);
  });

  it('lists over the cap are cut and counted', () => {
    const ciphers = Array.from({ length: 300 }, (_, i) => i + 1);
    const sink = run([[0, b.hsRecord(b.handshake(1, b.clientHelloBody({ ciphers, extensions: [] })))]]);
    const f = sink.events()[0]?.fields;
    expect((f?.cipher_suites as number[]).length).toBe(128);
    expect(f?.cut).toBe(172);
    // The fingerprint still counts every suite (capped at 99 by JA4 itself).
    expect(String(f?.ja4).slice(4, 6)).toBe('99');
  });

  it('garbage on a TLS port before any hello is a violation, not a stream of anomalies', () => {
    const sink = run([[0, b.ascii('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]]);
    expect(sink.violations.length).toBe(1);
    expect(sink.out).toEqual([]);
  });

  it('after confirmation a bad record header is one malformed anomaly and the direction stops', () => {
    const sink = run([
      [0, b.hsRecord(clientHello())],
      [1, [0x16, 0x03, 0x03, 0xff, 0xff, ...new Array<number>(20).fill(0)]],
      [1, b.hsRecord(serverHello12())],
    ]);
    expect(sink.anomalies()).toEqual(['tls.malformed_record']);
    expect(sink.out.find((r) => r.kind === 'anomaly')?.malformed).toBe(true);
    expect(sink.events().map((e) => e.type)).toEqual(['client_hello']);
    const unknown = run([
      [0, b.hsRecord(clientHello())],
      [1, b.record(99, [1, 2, 3])],
    ]);
    expect(unknown.anomalies()).toEqual(['tls.unknown_record_type']);
  });

  it('a malformed ClientHello is a counted parse error, and the wrong side is reported once', () => {
    const bad = b.handshake(1, [3, 3, 1, 2]);
    const sink = run([[0, b.hsRecord(bad)]]);
    expect(sink.anomalies()).toEqual(['tls.malformed_handshake']);
    const wrong = run([
      [0, b.hsRecord(clientHello())],
      [1, b.hsRecord(clientHello())],
      [1, b.hsRecord(clientHello())],
    ]);
    expect(wrong.anomalies()).toEqual(['tls.wrong_direction']);
  });

  it('a gap inside the handshake stops the direction; before any record it is a pickup, not an anomaly', () => {
    const sink = new RecordingSink();
    const s = new TlsSession(sink);
    s.onGap(1, 100, 1);
    run([[0, b.hsRecord(clientHello()).slice(0, 30)]], s, sink);
    s.onGap(0, 50, 2);
    run([[0, b.hsRecord(clientHello())]], s, sink);
    expect(sink.anomalies()).toEqual(['tls.gap']);
    expect(sink.events()).toEqual([]);
    expect(s.bufferedBytes()).toBe(0);
  });

  it('anomalies past the per-flow cap are counted, not emitted', () => {
    const sink = new RecordingSink();
    const s = new TlsSession(sink, { maxAnomalies: 3 });
    const pieces: Array<[Direction, number[]]> = [[0, b.hsRecord(clientHello())]];
    for (let i = 0; i < 10; i++) pieces.push([0, b.hsRecord(b.handshake(11, [0, 0, 9]))]);
    run(pieces, s, sink);
    expect(sink.anomalies().length).toBe(3);
    expect(s.stats.anomaliesSuppressed).toBe(7);
    expect(s.stats.parseErrors).toBe(10);
  });
});

describe('parsers', () => {
  it('reject lengths past the end and bytes left over', () => {
    const ok = b.clientHelloBody({ extensions: [b.sniExt('a')] });
    expect(parseClientHello(Uint8Array.from(ok)).ok).toBe(true);
    expect(parseClientHello(Uint8Array.from(ok.slice(0, -1))).ok).toBe(false);
    expect(parseClientHello(Uint8Array.from([...ok, 0])).ok).toBe(false);
    expect(
      parseClientHello(Uint8Array.from(b.clientHelloBody({ sessionId: new Array<number>(33).fill(1) }))).ok,
    ).toBe(false);
    const odd = [...b.u16(0x0303), ...new Array<number>(32).fill(0), 0, 0, 3, 1, 2, 3, 1, 0];
    expect(parseClientHello(Uint8Array.from(odd))).toEqual({ ok: false, detail: 'odd cipher suites length' });
    // A hello without an extensions block (SSL 3.0 style) is fine.
    expect(parseClientHello(Uint8Array.from(b.clientHelloBody({}))).ok).toBe(true);
    expect(parseServerHello(Uint8Array.from(b.serverHelloBody({}).slice(0, 30))).ok).toBe(false);
    expect(
      parseServerHello(
        Uint8Array.from(b.serverHelloBody({ extensions: [b.alpnExt([b.ascii('a'), b.ascii('b')])] })),
      ).ok,
    ).toBe(false);
  });

  it('certificate lists: count beyond the chain cap, lengths checked', () => {
    const body = b.certificateBody([[1], [2, 2], [3], [4]]);
    const res = parseCertificateList(Uint8Array.from(body), 2);
    expect(res.ok && res.value.count).toBe(4);
    expect(res.ok && res.value.certs.map((c) => Array.from(c.der))).toEqual([[1], [2, 2]]);
    expect(parseCertificateList(Uint8Array.from(body.slice(0, -1)), 8).ok).toBe(false);
  });

  it('SAN text: DNS names only, quoted names with commas kept whole, capped', () => {
    expect(sanDnsNames('DNS:a.example, IP Address:10.0.0.1, DNS:"b,c.example", email:x@y', 8, 256)).toEqual([
      'a.example',
      'b,c.example',
    ]);
    expect(sanDnsNames('DNS:a, DNS:b, DNS:c', 2, 256)).toEqual(['a', 'b']);
  });

  it('a DER the X.509 parser refuses is reported by size and hash only', () => {
    const r = describeCertificate(Uint8Array.from([0x30, 0x03, 1, 2, 3]), {
      maxCertBytes: 100,
      maxFieldChars: 10,
      maxSanNames: 2,
    });
    expect(r.ok).toBe(false);
    expect(Object.keys(r.fields).sort()).toEqual(['der_bytes', 'sha256']);
  });

  it('the certificate cache is bounded, answers by SHA-256 and hands out copies', () => {
    const limits = { maxCertBytes: 100, maxFieldChars: 10, maxSanNames: 2 };
    const cache = new CertCache(3);
    const ders = [1, 2, 3, 4].map((i) => Uint8Array.from([0x30, i]));
    const first = describeCertificate(ders[0] ?? new Uint8Array(0), limits, cache);
    first.fields.sha256 = 'changed by a consumer';
    const again = describeCertificate(ders[0] ?? new Uint8Array(0), limits, cache);
    expect(again.fields.sha256).toBe(
      createHash('sha256')
        .update(Uint8Array.from([0x30, 1]))
        .digest('hex'),
    );
    for (const d of ders) describeCertificate(d, limits, cache);
    expect(cache.size).toBe(3);
  });

  it.skipIf(!HAVE_OPENSSL)('certificate fields agree with openssl x509 on a certificate made here', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ww-tls-'));
    try {
      const pem = path.join(dir, 'c.pem');
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:3072',
          '-nodes',
          '-keyout',
          path.join(dir, 'k.pem'),
          '-out',
          pem,
          '-days',
          '30',
          '-subj',
          '/CN=modality.ward3.example/O=St Example, Radiology',
          '-addext',
          'subjectAltName=DNS:modality.ward3.example,IP:10.1.2.3,DNS:mod2.example',
        ],
        { stdio: 'ignore' },
      );
      const der = execFileSync('openssl', ['x509', '-in', pem, '-outform', 'DER']);
      const text = (args: string[]): string =>
        execFileSync('openssl', ['x509', '-in', pem, '-noout', ...args], { encoding: 'utf8' });
      const r = describeCertificate(Uint8Array.from(der), {
        maxCertBytes: 16384,
        maxFieldChars: 256,
        maxSanNames: 8,
      });
      expect(r.ok).toBe(true);
      const f = r.fields;
      expect(f.subject_cn).toBe('modality.ward3.example');
      expect(f.subject_o).toBe('St Example, Radiology');
      expect(f.key_type).toBe('rsa');
      expect(f.key_bits).toBe(3072);
      expect(f.self_signed).toBe(true);
      expect(f.san_dns).toEqual(['modality.ward3.example', 'mod2.example']);
      const fp = text(['-fingerprint', '-sha256']).split('=')[1]?.trim().replace(/:/g, '').toLowerCase();
      expect(f.sha256).toBe(fp);
      const notAfter = text(['-enddate']).split('=')[1]?.trim() ?? '';
      expect(f.not_after).toBe(new Date(notAfter).toISOString());
      expect(readFileSync(pem, 'utf8')).toContain('BEGIN CERTIFICATE');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('probe', () => {
  it.each([
    [[0x16, 0x03, 0x01, 0x00, 0xc8, 0x01], 'match'],
    [[0x16, 0x03, 0x03, 0x02, 0x00, 0x01], 'match'],
    [[0x16, 0x03], 'need_more'],
    [[0x16, 0x03, 0x01, 0x00, 0xc8], 'need_more'],
    [[0x16, 0x03, 0x05, 0x00, 0xc8, 0x01], 'no'],
    [[0x16, 0x03, 0x01, 0x00, 0x00, 0x01], 'no'],
    [[0x16, 0x03, 0x01, 0x00, 0xc8, 0x02], 'no'],
    [[0x17, 0x03, 0x03, 0x00, 0xc8], 'no'],
    [b.ascii('GET / '), 'no'],
  ])('client bytes %j: %s', (bytes, want) => {
    expect(probeTls(0, Uint8Array.from(bytes))).toBe(want);
  });

  it('the server side never decides', () => {
    expect(probeTls(1, Uint8Array.from([0x16, 0x03, 0x03, 0x00, 0x40, 0x02]))).toBe('need_more');
  });
});

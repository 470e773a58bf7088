// Events of the DICOM session on our dcmtk loopback fixtures: what a rule or a baseline would see (expect-style partial matches).
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { probeDicom } from '../../../agent/protocols/dicom/index.js';
import { FIXTURES } from '../../helpers/paths.js';
import { readTcpSegments } from './pcap-streams.js';
import { newSession, type RecordingSink } from './sink.js';

/** One session per TCP stream of a fixture, fed in capture order. */
function sessionsOf(name: string): RecordingSink[] {
  const segs = readTcpSegments(path.join(FIXTURES, 'dicom', `${name}.pcap`));
  return [...new Set(segs.map((s) => s.stream))].map((id) => {
    const { s, sink } = newSession();
    for (const seg of segs.filter((x) => x.stream === id)) s.onData(seg.dir, seg.payload, seg.ts);
    s.onEnd(0, Number.MAX_SAFE_INTEGER);
    s.onEnd(1, Number.MAX_SAFE_INTEGER);
    return sink;
  });
}

const dimse = (sink: RecordingSink): Record<string, unknown>[] => sink.of('dimse').map((e) => e.fields);

describe('DICOM fixtures (dcmtk 3.6.7 on loopback)', () => {
  it('echo: C-ECHO round trip and release', () => {
    const [a] = sessionsOf('echo');
    expect(a!.types()).toEqual([
      'associate_rq',
      'associate_ac',
      'dimse',
      'dimse',
      'release_rq',
      'release_rp',
    ]);
    expect(a!.of('associate_rq')[0]!.fields).toMatchObject({
      calling_ae: 'ECHOSCU',
      called_ae: 'STORESCP',
      implementation_version: 'OFFIS_DCMTK_367',
    });
    expect(dimse(a!).map((f) => [f.command, f.status])).toEqual([
      ['C-ECHO-RQ', undefined],
      ['C-ECHO-RSP', 0],
    ]);
  });

  it('find: PATIENT and STUDY level queries with wildcard flags, never values', () => {
    const [patient, study] = sessionsOf('find');
    expect(dimse(patient!)[0]).toMatchObject({
      command: 'C-FIND-RQ',
      transfer_syntax: '1.2.840.10008.1.2.1',
      query_level: 'PATIENT',
      query_keys: [
        { key: 'PatientName', wildcard: true },
        { key: 'PatientID', wildcard: true },
        { key: 'PatientBirthDate', wildcard: true },
      ],
    });
    const q = dimse(study!)[0]!;
    expect(q.query_level).toBe('STUDY');
    expect(q.query_keys).toEqual(
      expect.arrayContaining([
        { key: 'PatientName', wildcard: true },
        { key: 'StudyInstanceUID', wildcard: true },
        { key: 'AccessionNumber', wildcard: true },
        { key: 'ModalitiesInStudy', wildcard: true },
        { key: 'StudyDate', wildcard: true },
      ]),
    );
    expect(dimse(study!).map((f) => [f.command, f.status])).toEqual([
      ['C-FIND-RQ', undefined],
      ['C-FIND-RSP', 0xff00],
      ['C-FIND-RSP', 0],
    ]);
  });

  it('move: destination AE, sub-association C-STORE, sub-operation counts', () => {
    const [main, sub] = sessionsOf('move');
    expect(dimse(main!)[0]).toMatchObject({
      command: 'C-MOVE-RQ',
      move_destination: 'STORESCP',
      query_level: 'STUDY',
      query_keys: [{ key: 'StudyInstanceUID', wildcard: false }],
    });
    expect(
      dimse(main!)
        .slice(1)
        .map((f) => [f.command, f.status, f.remaining, f.completed, f.failed, f.warning]),
    ).toEqual([
      ['C-MOVE-RSP', 0xff00, 0, 1, 0, 0],
      ['C-MOVE-RSP', 0, undefined, 1, 0, 0],
    ]);
    expect(sub!.of('associate_rq')[0]!.fields).toMatchObject({ calling_ae: 'QRSCP', called_ae: 'STORESCP' });
    expect(dimse(sub!)[0]).toMatchObject({
      command: 'C-STORE-RQ',
      move_originator_ae: 'MOVESCU',
      affected_sop_class: '1.2.840.10008.5.1.4.1.1.7',
      data_bytes: 482,
    });
  });

  it('reject: unknown called AE', () => {
    const [a] = sessionsOf('reject');
    expect(a!.types()).toEqual(['associate_rq', 'associate_rj']);
    expect(a!.of('associate_rj')[0]!.fields).toEqual({ result: 1, source: 1, reason: 7 });
  });

  it('abort: C-STORE then A-ABORT from the client', () => {
    const [a] = sessionsOf('abort');
    expect(a!.types().slice(-3)).toEqual(['dimse', 'dimse', 'abort']);
    expect(a!.of('abort')[0]!.dir).toBe(0);
    expect(a!.of('associate_ac')[0]!.fields.accepted_contexts).toBe(128);
  });

  it('the probe matches the first client bytes of every association, and only those', () => {
    for (const name of ['echo', 'store', 'find', 'move', 'reject', 'abort']) {
      const segs = readTcpSegments(path.join(FIXTURES, 'dicom', `${name}.pcap`));
      for (const id of new Set(segs.map((s) => s.stream))) {
        const first = segs.find((s) => s.stream === id && s.dir === 0)!;
        expect(probeDicom(0, first.payload), name).toBe('match');
        const later = segs.filter((s) => s.stream === id && s.dir === 0)[1];
        if (later) expect(probeDicom(0, later.payload), name).toBe('no');
      }
    }
  });

  it('random re-segmentation of the move fixture gives identical events (seeded)', () => {
    const segs = readTcpSegments(path.join(FIXTURES, 'dicom', 'move.pcap')).filter((s) => s.stream === 1);
    const steps = segs.map((s) => [s.dir, s.payload] as const);
    const feed = (cut: (len: number) => number[]): string => {
      const { s, sink } = newSession();
      steps.forEach(([dir, b], i) => {
        let prev = 0;
        for (const c of [...cut(b.length), b.length]) {
          if (c <= prev || c > b.length) continue;
          s.onData(dir, b.subarray(prev, c), i);
          prev = c;
        }
      });
      return JSON.stringify(sink.events);
    };
    const want = feed(() => []);
    fc.assert(
      fc.property(fc.array(fc.nat(14_000), { maxLength: 30 }), (cuts) => {
        const sorted = [...new Set(cuts)].sort((a, b) => a - b);
        expect(feed((len) => sorted.filter((c) => c < len))).toBe(want);
      }),
      { seed: 42, numRuns: 50 },
    );
  });

  it('no fixture raises an anomaly', () => {
    for (const name of ['echo', 'store', 'find', 'move', 'reject', 'abort']) {
      for (const sink of sessionsOf(name)) expect(sink.anomalies(), name).toEqual([]);
    }
  });
});

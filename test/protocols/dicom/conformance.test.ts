// Conformance of the DICOM parsers and session against tshark's reference output, on the shared corpus and on our dcmtk fixtures.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../../agent/protocols/dicom/constants.js';
import { parseCommandSet, parsePdu, type Pdu } from '../../../agent/protocols/dicom/parse.js';
import { FIXTURES, HAVE_SHARED, SHARED_CAPTURES } from '../../helpers/paths.js';
import { readTcpSegments, type Segment } from './pcap-streams.js';
import { newSession, type RecordingSink } from './sink.js';

interface RefPdv {
  len: number;
  ctx: number;
  flags: number;
  command_field?: number;
  affected_sop_class_uid?: string;
  requested_sop_class_uid?: string;
  message_id?: number;
  message_id_responded_to?: number;
  status?: number;
  affected_sop_instance_uid?: string;
}
interface RefLine {
  sport: number;
  dport: number;
  tcp_stream: number;
  pdu_type: number;
  pdu_len: number;
  protocol_version?: number;
  called_ae?: string;
  calling_ae?: string;
  application_context?: string;
  abstract_syntaxes?: string[];
  presentation_contexts?: {
    id: number;
    abstract_syntax?: string;
    result?: number;
    transfer_syntaxes: string[];
  }[];
  max_pdu_len?: number | null;
  implementation_class_uid?: string;
  implementation_version?: string;
  result?: number;
  source?: number;
  reason?: number;
  pdvs?: RefPdv[];
}

const BIG = { ...DEFAULT_LIMITS, maxListEntries: 100_000 };

function readRef(file: string): RefLine[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as RefLine);
}

/** Our parse of every PDU, per "sport>dport" direction, from the concatenated TCP payload. */
function parseAll(segs: Segment[]): Map<string, { pdu: Pdu; buf: Uint8Array }[]> {
  const bytes = new Map<string, Uint8Array[]>();
  for (const s of segs) {
    const k = `${s.srcPort}>${s.dstPort}`;
    (bytes.get(k) ?? bytes.set(k, []).get(k)!).push(s.payload);
  }
  const out = new Map<string, { pdu: Pdu; buf: Uint8Array }[]>();
  for (const [k, parts] of bytes) {
    const b = Buffer.concat(parts);
    const list: { pdu: Pdu; buf: Uint8Array }[] = [];
    let off = 0;
    while (off < b.length) {
      const r = parsePdu(b, off, BIG);
      if (!r.ok) throw new Error(`${k}: parse failed at ${off}: ${r.need ? 'need' : r.code}`);
      list.push({ pdu: r.msg, buf: b });
      off += r.consumed;
    }
    out.set(k, list);
  }
  return out;
}

function compareParse(refs: RefLine[], segs: Segment[]): void {
  const keys = new Set(refs.flatMap((r) => [`${r.sport}>${r.dport}`, `${r.dport}>${r.sport}`]));
  const ours = parseAll(segs.filter((s) => keys.has(`${s.srcPort}>${s.dstPort}`)));
  const byDir = new Map<string, RefLine[]>();
  for (const r of refs) {
    const k = `${r.sport}>${r.dport}`;
    (byDir.get(k) ?? byDir.set(k, []).get(k)!).push(r);
  }
  for (const [k, list] of byDir) {
    const mine = ours.get(k) ?? [];
    expect(mine.length, `PDU count ${k}`).toBe(list.length);
    list.forEach((ref, i) => {
      const { pdu, buf } = mine[i]!;
      const at = `${k} #${i}`;
      expect(pdu.type, at).toBe(ref.pdu_type);
      expect(pdu.length, at).toBe(ref.pdu_len);
      if (pdu.type === 1 || pdu.type === 2) {
        expect(pdu.protocolVersion, at).toBe(ref.protocol_version);
        expect(pdu.calledAe, at).toBe(ref.called_ae);
        expect(pdu.callingAe, at).toBe(ref.calling_ae);
        expect(pdu.applicationContext ?? '', at).toBe(ref.application_context);
        expect(pdu.userInfo.maxLength ?? null, at).toBe(ref.max_pdu_len ?? null);
        expect(pdu.userInfo.implementationClassUid ?? '', at).toBe(ref.implementation_class_uid);
        expect(pdu.userInfo.implementationVersion ?? '', at).toBe(ref.implementation_version);
        if (pdu.type === 1) {
          expect(
            pdu.rqContexts.map((c) => c.abstractSyntax),
            at,
          ).toEqual(ref.abstract_syntaxes);
          expect(
            pdu.rqContexts.map((c) => ({
              id: c.id,
              abstract_syntax: c.abstractSyntax,
              transfer_syntaxes: c.transferSyntaxes,
            })),
            at,
          ).toEqual(ref.presentation_contexts);
        } else {
          expect(
            pdu.acContexts.map((c) => ({
              id: c.id,
              result: c.result,
              transfer_syntaxes: c.transferSyntax === null ? [] : [c.transferSyntax],
            })),
            at,
          ).toEqual(ref.presentation_contexts);
        }
      } else if (pdu.type === 3) {
        expect([pdu.result, pdu.source, pdu.reason], at).toEqual([ref.result, ref.source, ref.reason]);
      } else if (pdu.type === 7) {
        expect([pdu.source, pdu.reason], at).toEqual([ref.source, ref.reason]);
      } else if (pdu.type === 4) {
        const refPdvs = ref.pdvs ?? [];
        expect(pdu.pdvs.length, at).toBe(refPdvs.length);
        pdu.pdvs.forEach((v, j) => {
          const rp = refPdvs[j]!;
          expect([v.dataLength + 2, v.contextId, v.control], `${at} pdv ${j}`).toEqual([
            rp.len,
            rp.ctx,
            rp.flags,
          ]);
          if (v.control === 3) {
            // PDV offsets index the whole direction buffer that parsePdu was given.
            const cs = parseCommandSet(buf, v.dataOffset, v.dataOffset + v.dataLength);
            expect(cs.ok, `${at} command`).toBe(true);
            if (!cs.ok) return;
            const c = cs.msg;
            expect(c.commandField, at).toBe(rp.command_field);
            expect(c.affectedSopClass, at).toBe(rp.affected_sop_class_uid);
            expect(c.requestedSopClass, at).toBe(rp.requested_sop_class_uid);
            expect(c.messageId, at).toBe(rp.message_id);
            expect(c.messageIdRespondedTo, at).toBe(rp.message_id_responded_to);
            expect(c.status, at).toBe(rp.status);
            expect(c.affectedSopInstance, at).toBe(rp.affected_sop_instance_uid);
          }
        });
      }
    });
  }
}

const NAMES: Record<number, string> = {
  1: 'associate_rq',
  2: 'associate_ac',
  3: 'associate_rj',
  5: 'release_rq',
  6: 'release_rp',
  7: 'abort',
};

/** Feed each TCP stream to its own session in capture order; compare events with tshark's PDUs. */
function compareSession(refs: RefLine[], segs: Segment[]): RecordingSink[] {
  const sinks: RecordingSink[] = [];
  const streams = [...new Set(segs.map((s) => s.stream))];
  for (const id of streams) {
    const ss = segs.filter((s) => s.stream === id);
    const first = ss[0]!;
    const client =
      first.dir === 0 ? `${first.srcPort}>${first.dstPort}` : `${first.dstPort}>${first.srcPort}`;
    const [cp, sp] = client.split('>').map(Number);
    const refsOf = refs.filter(
      (r) => (r.sport === cp && r.dport === sp) || (r.sport === sp && r.dport === cp),
    );
    if (refsOf.length === 0) continue;
    const { s, sink } = newSession();
    for (const seg of ss) s.onData(seg.dir, seg.payload, seg.ts);
    s.onEnd(0, Number.MAX_SAFE_INTEGER);
    s.onEnd(1, Number.MAX_SAFE_INTEGER);
    sinks.push(sink);
    const at = `stream ${client}`;
    expect(s.stats.pdus, at).toBe(refsOf.length);
    expect(sink.confirmed, at).toBe(1);
    expect(sink.violations, at).toEqual([]);
    expect(sink.malformed, at).toBe(0);
    for (const d of [0, 1] as const) {
      const from = d === 0 ? cp : sp;
      const rd = refsOf.filter((r) => r.sport === from);
      const evd = sink.events.filter((e) => e.dir === d);
      expect(
        evd.filter((e) => e.type !== 'dimse' && e.type !== 'anomaly').map((e) => e.type),
        `${at} dir ${d}`,
      ).toEqual(rd.filter((r) => r.pdu_type !== 4).map((r) => NAMES[r.pdu_type]));
      const refCmds = rd.flatMap((r) => (r.pdvs ?? []).filter((p) => p.command_field !== undefined));
      const dimse = evd.filter((e) => e.type === 'dimse');
      expect(
        dimse.map((e) => [
          e.fields.command_field,
          e.fields.message_id,
          e.fields.message_id_responded_to,
          e.fields.status,
          e.fields.affected_sop_class,
        ]),
        `${at} dir ${d} dimse`,
      ).toEqual(
        refCmds.map((p) => [
          p.command_field,
          p.message_id,
          p.message_id_responded_to,
          p.status,
          p.affected_sop_class_uid,
        ]),
      );
      for (const ev of evd.filter((e) => e.type === 'associate_rq' || e.type === 'associate_ac')) {
        const r = rd.find((x) => NAMES[x.pdu_type] === ev.type)!;
        expect([ev.fields.calling_ae, ev.fields.called_ae], at).toEqual([r.calling_ae, r.called_ae]);
        expect(ev.fields.implementation_class_uid ?? '', at).toBe(r.implementation_class_uid);
        expect(ev.fields.implementation_version ?? '', at).toBe(r.implementation_version);
        if (ev.type === 'associate_rq')
          expect(ev.fields.abstract_syntaxes, at).toEqual([...new Set(r.abstract_syntaxes)]);
        else
          expect(ev.fields.accepted_contexts, at).toBe(
            r.presentation_contexts!.filter((c) => c.result === 0).length,
          );
      }
    }
  }
  return sinks;
}

function captures(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.pcap') && existsSync(path.join(dir, `${f}.tshark.jsonl`)))
    .map((f) => path.join(dir, f));
}

describe.skipIf(!HAVE_SHARED)('DICOM conformance: shared corpus vs tshark', () => {
  const files = captures(path.join(SHARED_CAPTURES, 'dicom'));
  it('finds the five DICOM captures', () => {
    expect(files.length).toBe(5);
  });
  for (const f of files) {
    it(path.basename(f), () => {
      const refs = readRef(`${f}.tshark.jsonl`);
      const segs = readTcpSegments(f);
      compareParse(refs, segs);
      compareSession(refs, segs);
    });
  }
});

const FIX = path.join(FIXTURES, 'dicom');

describe('DICOM conformance: our dcmtk fixtures vs tshark', () => {
  const files = captures(FIX);
  it('finds the six fixtures', () => {
    expect(files.map((f) => path.basename(f)).sort()).toEqual([
      'abort.pcap',
      'echo.pcap',
      'find.pcap',
      'move.pcap',
      'reject.pcap',
      'store.pcap',
    ]);
  });
  for (const f of files) {
    it(path.basename(f), () => {
      const refs = readRef(`${f}.tshark.jsonl`);
      const segs = readTcpSegments(f);
      compareParse(refs, segs);
      const sinks = compareSession(refs, segs);
      // Synthetic patient values of the fixture image and queries never reach events.
      const json = JSON.stringify(sinks.map((s) => s.events));
      for (const phi of ['SYNTHETIC', 'SYN0001', '19700101', 'SYNACC01']) expect(json).not.toContain(phi);
    });
  }
});

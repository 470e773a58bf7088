// Decoder against the shared capture corpus: fields per frame equal tshark's (other/*.tshark.jsonl), no decode errors anywhere.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../agent/capture/file.js';
import { ipToString } from '../../agent/decode/addr.js';
import { Decoder, type DecodeStatus } from '../../agent/decode/decoder.js';
import { createPacket, IpProto } from '../../agent/decode/packet.js';
import { HAVE_SHARED, SHARED_ABSENT, SHARED_CAPTURES } from '../helpers/paths.js';

interface FrameRef {
  frame: number;
  protocols: string;
  vlan_ids: number[];
  s_vlan_ids: number[];
  ip_src: string[];
  ip_dst: string[];
  ipv6_src: string[];
  ipv6_dst: string[];
  tcp_sport: number[];
  tcp_dport: number[];
  tcp_len: number[];
  tcp_flags: string[];
  ip_proto: number[];
  ip_more_fragments: number[];
  ip_frag_offset: number[];
  udp_sport: number[];
  udp_dport: number[];
}

function listCaptures(dir: string): string[] {
  if (!HAVE_SHARED) return [];
  return readdirSync(path.join(SHARED_CAPTURES, dir))
    .filter((f) => /\.(pcap|pcapng)$/.test(f))
    .map((f) => path.join(SHARED_CAPTURES, dir, f));
}

const ERRORS: ReadonlySet<DecodeStatus> = new Set([
  'truncated',
  'bad_header',
  'unsupported_link',
  'bad_checksum',
  'fragment_overflow',
  'too_many_tags',
]);

describe.skipIf(!HAVE_SHARED)('decode vs tshark on other/ captures', () => {
  if (!HAVE_SHARED) console.warn(SHARED_ABSENT);
  it.each(listCaptures('other').map((f) => [path.basename(f), f]))('%s', async (_name, file) => {
    const refs = readFileSync(`${file}.tshark.jsonl`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as FrameRef);
    const d = new Decoder();
    const p = createPacket();
    let compared = 0;
    const mismatches: string[] = [];
    const check = (frame: number, what: string, got: unknown, want: unknown): void => {
      if (got !== want) mismatches.push(`frame ${frame} ${what}: got ${String(got)}, tshark ${String(want)}`);
    };
    await readCaptureFile(file, (f) => {
      const status = d.decode(f, p);
      const ref = refs[f.index - 1];
      if (!ref) {
        mismatches.push(`frame ${f.index} missing in tshark output`);
        return;
      }
      const layers = ref.protocols.split(':');
      const isIp = layers.includes('ip') || layers.includes('ipv6');
      if (ERRORS.has(status)) mismatches.push(`frame ${f.index}: status ${status}`);
      if (isIp && status === 'other') mismatches.push(`frame ${f.index}: IP frame decoded as other`);
      const vlanRef = ref.vlan_ids.length > 0 ? ref.vlan_ids : ref.s_vlan_ids;
      check(f.index, 'vlan', p.vlan, vlanRef.length > 0 ? vlanRef[vlanRef.length - 1] : -1);
      check(f.index, 'vlan depth', p.vlanDepth, ref.vlan_ids.length + ref.s_vlan_ids.length);
      // A fragment is ok exactly where tshark completed the datagram and dissected its transport layer.
      if (ref.ip_more_fragments[0] === 1 || (ref.ip_frag_offset[0] ?? 0) > 0) {
        const done = layers.includes('udp') || layers.includes('tcp');
        check(f.index, 'fragment status', status, done ? 'ok' : 'fragment_pending');
      }
      if (!isIp || status !== 'ok') return;
      compared++;
      const src = p.ipVersion === 4 ? ref.ip_src[0] : ref.ipv6_src[0];
      const dst = p.ipVersion === 4 ? ref.ip_dst[0] : ref.ipv6_dst[0];
      check(f.index, 'src', ipToString(p.src), src);
      check(f.index, 'dst', ipToString(p.dst), dst);
      if (p.ipVersion === 4) check(f.index, 'ip proto', p.proto, ref.ip_proto[0]);
      if (p.proto === IpProto.TCP) {
        check(f.index, 'tcp flags', p.tcpFlags, parseInt(ref.tcp_flags[0] ?? '', 16) & 0xff);
        check(f.index, 'tcp sport', p.srcPort, ref.tcp_sport[0]);
        check(f.index, 'tcp dport', p.dstPort, ref.tcp_dport[0]);
        check(f.index, 'tcp len', p.payload.length, ref.tcp_len[0]);
      } else if (p.proto === IpProto.UDP) {
        check(f.index, 'udp sport', p.srcPort, ref.udp_sport[0]);
        check(f.index, 'udp dport', p.dstPort, ref.udp_dport[0]);
      }
    });
    expect(mismatches).toEqual([]);
    expect(compared).toBeGreaterThan(0);
  });
});

describe.skipIf(!HAVE_SHARED)('decode every shared capture without errors', () => {
  it.each(['hl7', 'dicom', 'mqtt'])('%s/', async (dir) => {
    const bad: string[] = [];
    for (const file of listCaptures(dir)) {
      const d = new Decoder();
      const p = createPacket();
      await readCaptureFile(file, (f) => {
        const s = d.decode(f, p);
        if (s !== 'ok') bad.push(`${path.basename(file)} frame ${f.index}: ${s}`);
      });
    }
    expect(bad).toEqual([]);
  });
});

// Tool-written fixtures (tcpdump nanosecond pcap; editcap pcapng, gzip): read, decoded, and compared with tshark's fields.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../agent/capture/file.js';
import { ipToString } from '../../agent/decode/addr.js';
import { Decoder } from '../../agent/decode/decoder.js';
import { createPacket } from '../../agent/decode/packet.js';
import { FIXTURES } from '../helpers/paths.js';

const DIR = path.join(FIXTURES, 'capture');
const PCAP = path.join(DIR, 'lo-tcp-udp-ns.pcap');
const PCAPNG_GZ = path.join(DIR, 'lo-tcp-udp-ns.pcapng.gz');

interface Row {
  ts: number;
  fields: string[];
}

/** tshark's epoch text "S.NNNNNNNNN" to µs, truncating like the reader (no float rounding). */
function epochToMicros(text: string): number {
  const [sec = '0', frac = ''] = text.split('.');
  return Number(sec) * 1e6 + Number(frac.padEnd(6, '0').slice(0, 6));
}

const reference: Row[] = readFileSync(path.join(DIR, 'lo-tcp-udp-ns.tshark.tsv'), 'utf8')
  .trimEnd()
  .split('\n')
  .map((line) => {
    const [, epoch = '', ...fields] = line.split('\t');
    return { ts: epochToMicros(epoch), fields };
  });

async function decodeAll(file: string): Promise<Row[]> {
  const d = new Decoder();
  const p = createPacket();
  const rows: Row[] = [];
  await readCaptureFile(file, (f) => {
    expect(d.decode(f, p)).toBe('ok');
    const tcp = p.proto === 6;
    const udp = p.proto === 17;
    rows.push({
      ts: p.ts,
      fields: [
        ipToString(p.src),
        ipToString(p.dst),
        String(p.proto),
        tcp ? String(p.srcPort) : '',
        tcp ? String(p.dstPort) : '',
        tcp ? `0x${p.tcpFlags.toString(16).padStart(4, '0')}` : '',
        tcp ? String(p.payload.length) : '',
        udp ? String(p.srcPort) : '',
        udp ? String(p.dstPort) : '',
      ],
    });
  });
  return rows;
}

describe('capture fixtures', () => {
  it('the tcpdump nanosecond pcap decodes to tshark fields', async () => {
    expect(readFileSync(PCAP).subarray(0, 4).toString('hex')).toBe('4d3cb2a1');
    expect(reference).toHaveLength(12);
    expect(await decodeAll(PCAP)).toEqual(reference);
  });

  it('the gzip pcapng (if_tsresol 9) gives the same packets', async () => {
    const res = await readCaptureFile(PCAPNG_GZ, () => undefined);
    expect(res).toMatchObject({ frames: 12, format: 'pcapng', gzip: true });
    expect(await decodeAll(PCAPNG_GZ)).toEqual(reference);
  });
});

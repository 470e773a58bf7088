// Flow table against the shared capture corpus: TCP flow count equals tshark's tcp.stream count; no capture breaks the caps.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../agent/capture/file.js';
import { Decoder } from '../../agent/decode/decoder.js';
import { createPacket } from '../../agent/decode/packet.js';
import { FlowTable } from '../../agent/reassembly/flow-table.js';
import type { FlowRecord } from '../../agent/reassembly/types.js';
import { HAVE_SHARED, SHARED_ABSENT, SHARED_CAPTURES } from '../helpers/paths.js';
import { Recorder } from './helpers.js';

/**
 * tcp.stream counts of the protocol captures, whose references list streams only on message frames:
 * `tshark -r FILE -T fields -e tcp.stream | sort -u | grep -c .` with TShark 4.0.17.
 */
const TSHARK_TCP_STREAMS: Record<string, number> = {
  'mqtt/arkime-mqtt_big.pcap': 1,
  'mqtt/arkime-mqtt_synthetic.pcap': 7,
  'mqtt/ndpi-mqtt.pcap': 2,
  'mqtt/sv-mqtt-connect-rules-2.pcap': 1,
  'mqtt/sv-mqtt-events-invalid-qos.pcap': 1,
  'mqtt/sv-mqtt-events-missing-connect.pcap': 6,
  'mqtt/sv-mqtt-events-unassigned-msgtype.pcap': 1,
  'mqtt/sv-mqtt-events-unintroduced.pcap': 1,
  'mqtt/sv-mqtt-frames-truncated.pcap': 1,
  'mqtt/sv-mqtt-limit-2.pcap': 1,
  'mqtt/sv-mqtt-midstream-split.pcap': 1,
  'mqtt/sv-mqtt-ping.pcap': 1,
  'mqtt/sv-mqtt31-pub-qos1.pcap': 1,
  'mqtt/sv-mqtt31-sub-userpass.pcap': 1,
  'mqtt/sv-mqtt31-unsub-qos2.pcap': 1,
  'mqtt/sv-mqtt311-pub-qos2.pcap': 1,
  'mqtt/sv-mqtt311-pub-userpass-auto-clientid.pcap': 1,
  'mqtt/sv-mqtt311-sub-userpass.pcap': 1,
  'mqtt/sv-mqtt311-unsub-qos1.pcap': 1,
  'mqtt/sv-mqtt5-excessiveproplen.pcap': 1,
  'mqtt/sv-mqtt5-pub-mosquittoprops.pcap': 1,
  'mqtt/sv-mqtt5-pub-qos2.pcap': 1,
  'mqtt/sv-mqtt5-pub-userpass-auto-clientid.pcap': 1,
  'mqtt/sv-mqtt5-sub-customauth.pcap': 1,
  'mqtt/sv-mqtt5-sub-mosquittoprops.pcap': 1,
  'mqtt/sv-mqtt5-unsub-qos1.pcap': 2,
  'mqtt/zeek-mqtt.pcap': 2,
  'hl7/tapirx-HL7-ADT-UDI-OBX.pcap': 1,
  'hl7/tapirx-HL7-ADT-UDI-PRT.pcap': 1,
  'hl7/tapirx-HL7-ADT.pcap': 1,
  'hl7/tapirx-HL7-ORM.pcap': 1,
  'hl7/tapirx-HL7-ORU.pcap': 1,
  'dicom/tapirx-dicom_arq_1_find_testclient.pcap': 1,
  'dicom/tapirx-dicom_arq_2_get_testclient.pcap': 1,
  'dicom/tapirx-dicom_arq_3_find_bogus_local.pcap': 1,
  'dicom/tapirxl-ct_to_pacs_scenario.pcap': 1,
  'dicom/tapirxl-synthetic_philips_demo.pcap': 7,
};

function listCaptures(): { dir: string; file: string }[] {
  const out: { dir: string; file: string }[] = [];
  for (const dir of ['dicom', 'hl7', 'mqtt', 'other']) {
    for (const f of readdirSync(path.join(SHARED_CAPTURES, dir)).sort()) {
      if (/\.(pcap|pcapng)$/.test(f)) out.push({ dir, file: path.join(SHARED_CAPTURES, dir, f) });
    }
  }
  return out;
}

/** Distinct tcp.stream values in the tshark reference (every frame for `other/`, message frames elsewhere). */
function tsharkStreams(file: string): Set<number> {
  const streams = new Set<number>();
  for (const line of readFileSync(`${file}.tshark.jsonl`, 'utf8').split('\n')) {
    if (line === '') continue;
    const rec = JSON.parse(line) as { tcp_stream?: number | number[] };
    const s = rec.tcp_stream;
    if (typeof s === 'number') streams.add(s);
    else if (Array.isArray(s)) for (const x of s) streams.add(x);
  }
  return streams;
}

async function replay(
  file: string,
): Promise<{ records: FlowRecord[]; table: FlowTable; recorders: Recorder[] }> {
  const decoder = new Decoder();
  const pkt = createPacket();
  const records: FlowRecord[] = [];
  const recorders: Recorder[] = [];
  const table = new FlowTable({
    onFlowStart: () => {
      const r = new Recorder();
      recorders.push(r);
      return r;
    },
    onFlowEnd: (_f, rec) => records.push(rec),
  });
  let last = 0;
  try {
    await readCaptureFile(file, (f) => {
      if (decoder.decode(f, pkt) === 'ok') table.onPacket(pkt);
      last = f.ts;
    });
  } catch {
    // A truncated capture: the frames before the fault were delivered, which is what we compare.
  }
  table.flush(last);
  return { records, table, recorders };
}

describe.skipIf(!HAVE_SHARED)(
  `flow table on the shared captures${HAVE_SHARED ? '' : ` (${SHARED_ABSENT})`}`,
  () => {
    const captures = HAVE_SHARED ? listCaptures() : [];

    it.each(captures.filter((c) => c.dir === 'other'))(
      '$file: TCP flows = tshark tcp.stream count',
      async ({ file }) => {
        const { records, table } = await replay(file);
        const tcp = records.filter((r) => r.transport === 'tcp').length;
        expect(tcp).toBe(tsharkStreams(file).size);
        expect(table.size).toBe(0);
        expect(table.heldBytes).toBe(0);
      },
    );

    it.each(captures.filter((c) => c.dir !== 'other'))(
      '$file: TCP flows = tshark tcp.stream count',
      async ({ file }) => {
        const { records, recorders, table } = await replay(file);
        const tcp = records.filter((r) => r.transport === 'tcp').length;
        const key = path.relative(SHARED_CAPTURES, file);
        expect(tcp).toBeGreaterThanOrEqual(tsharkStreams(file).size);
        if (key in TSHARK_TCP_STREAMS) expect(tcp).toBe(TSHARK_TCP_STREAMS[key]);
        expect(table.size).toBe(0);
        expect(table.heldBytes).toBe(0);
        // Each consumer saw exactly one end per direction.
        for (const r of recorders) expect([r.ended(0), r.ended(1)]).toEqual([1, 1]);
      },
    );
  },
);

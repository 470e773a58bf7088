// Replays a capture through the real decoder, flow table and dispatcher with the TLS analyzer attached (it is not in
// the registry yet), and the tshark reading of the same capture for the conformance tests.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readCaptureFile } from '../../../agent/capture/file.js';
import { Decoder } from '../../../agent/decode/decoder.js';
import { createPacket, IpProto } from '../../../agent/decode/packet.js';
import {
  buildPortMap,
  createProtocolCounters,
  FlowDispatcher,
  type ProtocolCounters,
} from '../../../agent/protocols/dispatch.js';
import type { AnalyzerSpec, EventRecord } from '../../../agent/protocols/types.js';
import { tlsSpec } from '../../../agent/protocols/tls/index.js';
import { FlowTable } from '../../../agent/reassembly/flow-table.js';

export interface TlsReplay {
  events: EventRecord[];
  counters: ProtocolCounters;
}

/** Every TLS event of a capture, in order, with the dispatcher's counters (`specs` defaults to TLS alone). */
export async function replayTls(
  file: string,
  specs: readonly AnalyzerSpec[] = [tlsSpec],
): Promise<TlsReplay> {
  const events: EventRecord[] = [];
  const counters = createProtocolCounters(specs);
  const portMap = buildPortMap(specs);
  const flows = new FlowTable({
    onFlowStart: (flow) =>
      flow.transport === 'tcp'
        ? () => new FlowDispatcher(flow, specs, portMap, (e) => events.push(e), counters)
        : null,
    onFlowEnd: () => undefined,
  });
  const decoder = new Decoder();
  const pkt = createPacket();
  let last = 0;
  await readCaptureFile(file, (frame) => {
    last = Math.max(last, frame.ts);
    if (decoder.decode(frame, pkt) !== 'ok') return;
    if (pkt.proto === IpProto.TCP) flows.onPacket(pkt);
  });
  flows.flush(last);
  return { events, counters };
}

export const HAVE_TSHARK = ['/usr/bin/tshark', '/usr/local/bin/tshark'].some((p) => existsSync(p));

/** tshark -T fields over the handshake messages: one object per frame, each field's values split on ';' (ja3_full has commas). */
export function tsharkFields(
  file: string,
  filter: string,
  fields: readonly string[],
): Array<Record<string, string[]>> {
  const out = execFileSync(
    'tshark',
    [
      '-n',
      // Our reassembly orders segments as TCP does; tshark 4.0 only with this (zeek-tls_hrr.pcap's final ServerHello).
      '-o',
      'tcp.reassemble_out_of_order:TRUE',
      '-r',
      file,
      '-Y',
      filter,
      '-T',
      'fields',
      '-E',
      'separator=\t',
      '-E',
      'occurrence=a',
      '-E',
      'aggregator=;',
      ...fields.flatMap((f) => ['-e', f]),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 1024 * 1024 },
  );
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const cols = line.split('\t');
      const rec: Record<string, string[]> = {};
      fields.forEach((f, i) => {
        const v = cols[i] ?? '';
        rec[f] = v === '' ? [] : v.split(';');
      });
      return rec;
    });
}

// The fixture MLLP tool over loopback: ACK/NAK answers, batch answers, and the bytes it receives parse as the analyzer expects.
import { afterEach, describe, expect, it } from 'vitest';
import { Hl7Session } from '../../../agent/protocols/hl7/session.js';
import { RecordingSink } from '../../protocols/hl7/builders.js';
import { buildAck, deframe, frame, runMllpSender, startMllpReceiver, type MllpReceiver } from './mllp.js';
import { SCENARIOS } from './scenarios.js';

let rx: MllpReceiver | null = null;
afterEach(async () => {
  await rx?.close();
  rx = null;
});

describe('mllp tool', () => {
  it('frame/deframe round trip keeps an incomplete tail', () => {
    const bytes = Buffer.concat([frame('MSH|a\r'), frame('MSH|b\r').subarray(0, 4)]);
    const { blocks, rest } = deframe(bytes);
    expect(blocks).toEqual(['MSH|a\r']);
    expect(rest.length).toBe(4);
  });

  it("buildAck answers in the sender's separators with MSA-2 = MSH-10", () => {
    const a = buildAck('MSH#@!$%#APP#FAC#RAPP#RFAC#20260101##ADT@A08#C9#P#2.6', 'AE');
    expect(a).toMatch(/^MSH#@!\$%#RAPP#RFAC#APP#FAC#[\d.]+##ACK@A08@ACK#ACK\d{5}#P#2\.6\rMSA#AE#C9\r$/);
  });

  for (const sc of Object.values(SCENARIOS)) {
    it(`scenario ${sc.name} on 127.0.0.1: answers and analyzer events`, async () => {
      rx = await startMllpReceiver({ ackCode: (id) => (sc.nak.includes(id) ? 'AE' : 'AA') });
      const answers = await runMllpSender({ port: rx.port }, sc.steps);
      const codes = answers.flatMap((a) => [...a.matchAll(/MSA[|#](A[AER])/g)].map((m) => m[1]));
      expect(codes).toHaveLength(sc.messages);
      expect(codes.filter((c) => c === 'AE')).toHaveLength(sc.nak.length);
      // what the receiver got, through the analyzer: one event per message, nothing odd
      const sink = new RecordingSink();
      const s = new Hl7Session(sink);
      for (const chunk of rx.received) s.onData(0, chunk, 1);
      expect(sink.events()).toHaveLength(sc.messages);
      expect(sink.anomalies()).toEqual([]);
    });
  }
});

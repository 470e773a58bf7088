// The HL7 exchanges recorded as fixtures under fixtures/hl7/ (synthetic, invented patient data only).
import { adt, batch, message, msh, orm, rgv, SEG } from '../../protocols/hl7/builders.js';
import type { SendStep } from './mllp.js';

/** IHE PCD-01 ORU^R01 from a monitor (device id in OBX-18), accepting acknowledgments (MSH-15 AL). */
export function oruFromMonitor(controlId: string): string {
  return message(
    msh({
      type: 'ORU^R01^ORU_R01',
      controlId,
      acceptAck: 'AL',
      profile: 'IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO',
    }),
    SEG.pid,
    SEG.pv1,
    SEG.obr,
    SEG.obxDevice,
  );
}

export interface Scenario {
  name: string;
  port: number;
  /** Control ids the receiver answers with MSA-1 AE (a NAK). */
  nak: string[];
  steps: SendStep[];
  /** Messages the sender sends and answers it expects (a batch counts each message). */
  messages: number;
}

export const SCENARIOS: Record<string, Scenario> = {
  // ADT, PCD-01 ORU, ORM (answered with a NAK) and PCD-03 RGV, back to back on one connection.
  'pcd-back-to-back': {
    name: 'pcd-back-to-back',
    port: 2575,
    nak: ['ORM00001'],
    steps: [
      { mode: 'each', blocks: [adt('ADT00001')] },
      { mode: 'each', blocks: [oruFromMonitor('ORU00001')], pauseMs: 10 },
      { mode: 'each', blocks: [orm('ORM00001')], pauseMs: 10 },
      { mode: 'each', blocks: [rgv('RGV00001')], pauseMs: 10 },
    ],
    messages: 4,
  },
  // Three messages in one TCP segment, then one message split across two segments.
  'coalesced-and-split': {
    name: 'coalesced-and-split',
    port: 2575,
    nak: [],
    steps: [
      { mode: 'together', blocks: [oruFromMonitor('ORU00002'), oruFromMonitor('ORU00003'), adt('ADT00002')] },
      { mode: 'split', blocks: [oruFromMonitor('ORU00004')], splitAt: 100, pauseMs: 10 },
    ],
    messages: 4,
  },
  // An ORU then an ADT on a port no analyzer claims: found by the content probe (<VT>MSH) alone.
  'unregistered-port': {
    name: 'unregistered-port',
    port: 7575,
    nak: [],
    steps: [
      { mode: 'each', blocks: [oruFromMonitor('ORU00005')] },
      { mode: 'each', blocks: [adt('ADT00003')], pauseMs: 10 },
    ],
    messages: 2,
  },
  // A batch (FHS/BHS/BTS/FTS) answered by a batch of ACKs, then a message with separators MSH#@!$%, on port 6661.
  'batch-and-separators': {
    name: 'batch-and-separators',
    port: 6661,
    nak: [],
    steps: [
      { mode: 'each', blocks: [batch([adt('BAT00001'), orm('BAT00002')], { file: true })] },
      {
        mode: 'each',
        blocks: [
          message(
            msh({ field: '#', enc: '@!$%', type: 'ADT^A08', controlId: 'SEP00001' }),
            'EVN#A08',
            'PV1#1#I#ICU@BED2',
          ),
        ],
        pauseMs: 10,
      },
    ],
    messages: 3,
  },
};

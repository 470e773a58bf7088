// The WS-Discovery analyzer spec: UDP 3702 (SOAP-over-UDP), one event per message.
import { datagramSpec } from '../datagram.js';
import type { DatagramAnalyzerSpec } from '../types.js';
import { wsdSchema } from './events.js';
import { parseWsd } from './parse.js';

export { ACTIONS, ANOMALIES, wsdSchema } from './events.js';
export { parseWsd } from './parse.js';

export const wsdSpec: DatagramAnalyzerSpec = datagramSpec('wsd', [3702], (p) => parseWsd(p), wsdSchema);

// CLI: records one scenario (receiver on 127.0.0.1:PORT, sender from 127.0.0.2) while make-fixtures.sh runs tcpdump on lo.
import { runMllpSender, startMllpReceiver } from './mllp.js';
import { SCENARIOS } from './scenarios.js';

async function main(): Promise<void> {
  const name = process.argv[2] ?? '';
  const sc = SCENARIOS[name];
  if (!sc) {
    console.error(`usage: make-fixture SCENARIO (one of ${Object.keys(SCENARIOS).join(', ')})`);
    process.exit(2);
  }
  const rx = await startMllpReceiver({ port: sc.port, ackCode: (id) => (sc.nak.includes(id) ? 'AE' : 'AA') });
  try {
    const answers = await runMllpSender({ port: sc.port, localAddress: '127.0.0.2' }, sc.steps);
    console.log(`${name}: sent ${sc.messages} message(s), ${answers.length} answer block(s)`);
  } finally {
    await rx.close();
  }
}

void main();

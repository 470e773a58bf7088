// Child-process entry for tests: starts a collector from argv JSON and prints {url, wsUrl, port} on stdout.
import pino from 'pino';
import { startCollector, type CollectorOptions } from '../../collector/main.js';

const opts = JSON.parse(process.argv[2] ?? '{}') as Omit<CollectorOptions, 'logger'>;
const logger = pino({ level: process.env.WW_TEST_LOG ?? 'silent' }, pino.destination(2));
const c = await startCollector({ ...opts, logger });
process.stdout.write(`${JSON.stringify({ url: c.url, wsUrl: c.wsUrl, port: c.port })}\n`);
const stop = (): void => {
  void c.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

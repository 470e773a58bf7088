// In CI every suite's prerequisite must be there (issue 12): a missing one fails here instead of hiding tests
// behind skips. Locally (WARDWATCH_CI unset) the suites skip with their reason and this file says what is missing.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { HAVE_SHARED } from '../helpers/paths.js';
import { HAVE_POSTGRES } from '../helpers/postgres.js';
import { BIN } from '../helpers/processes.js';

const require = createRequire(import.meta.url);
function haveBinding(): boolean {
  try {
    require('wardwatch-pcap');
    return true;
  } catch {
    return false;
  }
}

/** A build of the binding from before PACKET_FANOUT would skip test/capture/fanout.test.ts. */
function haveFanout(): boolean {
  try {
    return (require('wardwatch-pcap') as { fanout?: boolean }).fanout === true;
  } catch {
    return false;
  }
}

const PREREQUISITES: [string, () => boolean][] = [
  ['the built CLI (dist/bin/wardwatch.js)', () => existsSync(BIN)],
  ['../shared/captures (conformance corpus)', () => HAVE_SHARED],
  ['root (live capture on lo, tmpfs mounts)', () => process.getuid?.() === 0],
  ['the native capture binding (wardwatch-pcap)', haveBinding],
  ['PACKET_FANOUT in the capture binding (npm rebuild wardwatch-pcap)', haveFanout],
  ['PostgreSQL server binaries (/usr/lib/postgresql/N/bin: initdb, pg_ctl)', () => HAVE_POSTGRES],
  ...[
    'tshark',
    'openssl',
    'promtool',
    'amtool',
    'tcpreplay',
    'storescu',
    'mosquitto',
    'setpriv',
    'systemd-analyze',
  ].map((tool): [string, () => boolean] => [
    tool,
    () => ['/usr/bin', '/usr/sbin', '/bin', '/sbin'].some((d) => existsSync(`${d}/${tool}`)),
  ]),
];

describe.runIf(process.env.WARDWATCH_CI !== undefined)('CI prerequisites', () => {
  it.each(PREREQUISITES)('%s is present', (_name, present) => {
    expect(present()).toBe(true);
  });
});

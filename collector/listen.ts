// The collector's --listen value: apart from the server, so that the CLI checks it without loading the collector.
import { UserError } from '../agent/wire/errors.js';

/** `HOST:PORT`, `[IPv6]:PORT`, `:PORT` or `PORT` (loopback). */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen) ?? /^()()(\d+)$/.exec(listen);
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UserError(`--listen ${listen}: expected HOST:PORT`);
  }
  // A port alone listens on loopback only: listening on the network is a choice made by naming an address.
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

// Reads start-up configuration files (site, rules): the engine's only I/O, done once before any packet, never per packet.
// eslint-disable-next-line no-restricted-imports -- configuration is read at start-up and on SIGHUP, outside the packet path
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from './config-error.js';

export function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, 0, `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** The `*.yaml` / `*.yml` files of a directory, sorted by name so load order (and rule order) is stable. */
export function listYamlFiles(dir: string): string[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new ConfigError(dir, 0, 'not a directory');
    names = readdirSync(dir);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(
      dir,
      0,
      `cannot read directory: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  return names
    .filter((n) => /\.ya?ml$/.test(n))
    .sort()
    .map((n) => path.join(dir, n));
}

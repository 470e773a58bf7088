// Start-up configuration errors (site file, rule files): the message is `FILE:LINE: message` (docs/cli.md, exit status 2).
import { UserError } from '../wire/errors.js';

export class ConfigError extends UserError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'ConfigError';
  }
}

/** Several errors found in one pass (`validateRules`); `message` lists them one a line. */
export class ConfigErrors extends UserError {
  constructor(readonly errors: ConfigError[]) {
    super(errors.map((e) => e.message).join('\n'));
    this.name = 'ConfigErrors';
  }
}

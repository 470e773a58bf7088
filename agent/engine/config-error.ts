// Start-up configuration errors (site file, rule files): the message is `FILE:LINE: message` (DESIGN.md "Exit status" 2).

export class ConfigError extends Error {
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
export class ConfigErrors extends Error {
  constructor(readonly errors: ConfigError[]) {
    super(errors.map((e) => e.message).join('\n'));
    this.name = 'ConfigErrors';
  }
}

// The option tables of bin/options.ts are the one declaration of every command's options: each has a description,
// and each option of the long-running commands can be set from WARDWATCH_<OPTION> (issue 13 item 5, issue 12).
import { describe, expect, it } from 'vitest';
import { applyEnvironment, commandOf, envName } from '../../bin/environment.js';
import { nearest } from '../../agent/wire/spelling.js';
import { COMMAND_OPTIONS, ENV_COMMANDS, GLOBAL } from '../../bin/options.js';

describe('option declarations', () => {
  it('every option of every command has a description', () => {
    for (const [command, options] of Object.entries({ ...COMMAND_OPTIONS, global: GLOBAL })) {
      for (const [name, spec] of Object.entries(options)) {
        expect(typeof spec.describe === 'string' && spec.describe.length > 10, `${command} --${name}`).toBe(
          true,
        );
      }
    }
  });

  it('every long option of agent, collector, replay and demo is read from WARDWATCH_<OPTION>', () => {
    let checked = 0;
    for (const command of ENV_COMMANDS) {
      for (const [name, spec] of Object.entries(COMMAND_OPTIONS[command] ?? {})) {
        const value = spec.type === 'boolean' ? 'false' : 'v1';
        const { args, warnings } = applyEnvironment([command], { [envName(name)]: value });
        expect(warnings, `${command} ${envName(name)}`).toEqual([]);
        expect(args, `${command} ${envName(name)}`).toContain(
          spec.type === 'boolean' ? `--no-${name}` : `--${name}=v1`,
        );
        checked++;
      }
    }
    // The variables the old hand-kept list forgot (issue 13) are among them.
    expect(envName('fail-on')).toBe('WARDWATCH_FAIL_ON');
    expect(applyEnvironment(['replay', 'x.pcap'], { WARDWATCH_FAIL_ON: 'high' }).args).toContain(
      '--fail-on=high',
    );
    expect(applyEnvironment(['agent'], { WARDWATCH_QUEUE_SIZE: '8' }).args).toContain('--queue-size=8');
    expect(applyEnvironment(['collector'], { WARDWATCH_CEF: 'true' }).args).toContain('--cef');
    expect(checked).toBeGreaterThan(40);
  });

  it('the command line wins: a variable for an option given (in any spelling) adds nothing', () => {
    const env = { WARDWATCH_INTERFACE: 'eth9', WARDWATCH_PROMISC: 'true', WARDWATCH_AGENT_ID: 'env' };
    const { args } = applyEnvironment(['agent', '-i', 'eth1', '--no-promisc', '--agentId=cli'], env);
    expect(args).toEqual(['agent', '-i', 'eth1', '--no-promisc', '--agentId=cli']);
  });

  it('values go before "--", several files are split like a command line', () => {
    const { args } = applyEnvironment(['agent', '--', 'x'], { WARDWATCH_PCAP: 'a.pcap  b.pcap' });
    expect(args).toEqual(['agent', '--pcap=a.pcap', '--pcap=b.pcap', '--', 'x']);
  });

  it('variables are not read for other commands, and not-an-option variables warn only there', () => {
    expect(
      applyEnvironment(['baseline', 'learn', 'x.pcap'], { WARDWATCH_SITE: 's', WARDWATCH_X: '1' }),
    ).toEqual({ args: ['baseline', 'learn', 'x.pcap'], warnings: [] });
    const { warnings } = applyEnvironment(['demo'], { WARDWATCH_HEALTH_PORT: '1', WARDWATCH_SPEDE: '3' });
    expect(warnings).toEqual([expect.stringMatching(/WARDWATCH_SPEDE.*did you mean WARDWATCH_SPEED/)]);
  });

  it('finds the command past --config FILE and knows subcommands', () => {
    expect(commandOf(['--config', 'agent.yaml', 'collector'])).toBe('collector');
    expect(commandOf(['baseline', 'learn', 'a.pcap'])).toBe('baseline learn');
    expect(commandOf(['--help'])).toBeNull();
  });

  it('suggests a near option name, not a far one', () => {
    expect(nearest('sped', ['speed', 'site'])).toBe('speed');
    expect(nearest('retension-days', ['retention-days', 'db'])).toBe('retention-days');
    expect(nearest('frobnicate', ['speed', 'site'])).toBeNull();
  });
});

// Hand-built events, flows and rule sets for the engine tests.
import type { EventRecord, EventFields, ProtoName } from '../../agent/protocols/types.js';
import type { FlowInfo, FlowRecord } from '../../agent/reassembly/types.js';
import { parseRuleTexts, type RuleSet } from '../../agent/engine/rules/rules.js';
import { Engine, type EngineLimits } from '../../agent/engine/engine.js';
import { isIncidentSummary } from '../../agent/engine/findings/incidents.js';
import { parseSite, type Site } from '../../agent/engine/site/site.js';
import type { Finding } from '../../agent/wire/finding.js';
import { formatTs } from '../../agent/wire/time.js';

export const T0 = Date.UTC(2026, 10, 28, 10, 0, 0) * 1000;
export const SEC = 1_000_000;

export function ev(
  proto: ProtoName,
  type: string,
  fields: EventFields,
  opts: {
    ts?: number;
    src?: string;
    dst?: string;
    sport?: number;
    dport?: number;
    smac?: string;
    dmac?: string;
    flow?: string;
  } = {},
): EventRecord {
  const ts = opts.ts ?? T0;
  const src: EventRecord['src'] = { ip: opts.src ?? '10.20.30.17', port: opts.sport ?? 40000 };
  const dst: EventRecord['dst'] = { ip: opts.dst ?? '10.20.60.2', port: opts.dport ?? 1883 };
  if (opts.smac) src.mac = opts.smac;
  if (opts.dmac) dst.mac = opts.dmac;
  return {
    kind: 'event',
    ts: formatTs(ts),
    tsMicros: ts,
    proto,
    type,
    src,
    dst,
    flow: opts.flow ?? 'f1',
    fields,
  };
}

export function flowInfo(
  id: string,
  client: string,
  server: string,
  serverPort: number,
  startTs = T0,
  opts: { clientMac?: number; vlan?: number } = {},
): FlowInfo {
  return {
    id,
    transport: 'tcp',
    vlan: opts.vlan ?? -1,
    clientIp: client,
    serverIp: server,
    clientPort: 50000,
    serverPort,
    clientMac: opts.clientMac ?? -1,
    serverMac: -1,
    startTs,
    app: null,
  };
}

export function flowRecord(
  id: string,
  client: string,
  server: string,
  serverPort: number,
  bytes: [number, number],
  start = T0,
  end = T0 + SEC,
  app: string | null = null,
): FlowRecord {
  return {
    kind: 'flow',
    flow: id,
    transport: 'tcp',
    app,
    vlan: null,
    client: { ip: client, port: 50000 },
    server: { ip: server, port: serverPort },
    client_by: 'syn',
    start: formatTs(start),
    end: formatTs(end),
    packets: [10, 10],
    bytes,
    gaps: 0,
    gap_bytes: 0,
    end_reason: 'fin',
    startMicros: start,
    endMicros: end,
  };
}

export function rulesFrom(text: string, file = 'test-rules.yaml'): RuleSet {
  const { set, errors } = parseRuleTexts([{ file, text }]);
  if (errors.length > 0) throw new Error(errors.map((e) => e.message).join('\n'));
  return set;
}

export function siteFrom(text: string): Site {
  return parseSite(text, 'site.yaml');
}

export function run(
  rules: RuleSet,
  events: EventRecord[],
  opts: {
    site?: Site | null;
    agentId?: string;
    limits?: Partial<EngineLimits>;
    flush?: boolean;
    /** Keep the records incidents leave when they close (test/engine/incidents.test.ts); off: per-rule findings only. */
    incidents?: boolean;
  } = {},
): { findings: Finding[]; engine: Engine } {
  const findings: Finding[] = [];
  const engine = new Engine(
    {
      site: opts.site ?? null,
      rules,
      baseline: null,
      agentId: opts.agentId ?? 'agent-1',
      limits: opts.limits ?? {},
    },
    (f) => findings.push(f),
  );
  for (const e of events) engine.onEvent(e);
  if (opts.flush !== false) engine.flush();
  return { findings: opts.incidents ? findings : findings.filter((f) => !isIncidentSummary(f)), engine };
}

/** A one-rule file around a match block (YAML text, indented by the caller to 6 spaces). */
export function oneRule(match: string, extra = ''): RuleSet {
  return rulesFrom(`lists:
  tl: [a, b]
  nets: [10.20.0.0/16]
  zs: [imaging]
  globs: ['*/cmd/*']
rules:
  - id: t.rule
    title: Test rule
    severity: high
    attack: [T0846]
    scenarios: [M1]
    description: A rule for tests.
${extra}    match:
${match}
`);
}

// Composition root of the agent: capture → decode → flows/reassembly → protocol dispatch → analyzers → engine.
import { readCaptureFile } from './capture/file.js';
import type { RawFrame } from './capture/types.js';
import { Decoder } from './decode/decoder.js';
import { createPacket, IpProto } from './decode/packet.js';
import { Engine } from './engine/engine.js';
import type { BaselineChecker } from './engine/baselines/baseline-types.js';
import type { RuleSet } from './engine/rules/rules.js';
import type { Site } from './engine/site/site.js';
import {
  analyzerByPort,
  buildPortMap,
  createProtocolCounters,
  FlowDispatcher,
  INSIDE_EVENTS,
  PRINTED_EVENTS,
  type EventForm,
  type ProtocolCounters,
} from './protocols/dispatch.js';
import {
  addProtocols,
  buildDatagramPortMap,
  createIdentityCounters,
  datagramAnalyzerByPort,
  DatagramDispatcher,
  dispatchLinkFrame,
  type IdentityCounters,
} from './protocols/dispatch-datagram.js';
import { ANALYZERS, DATAGRAM_ANALYZERS, LINK_ANALYZERS } from './protocols/registry.js';
import type { EventRecord, LinkFrame, ProtoName } from './protocols/types.js';
import { FlowTable, type FlowLimits } from './reassembly/flow-table.js';
import type { ConsumerFactory, FlowInfo, FlowRecord } from './reassembly/types.js';
import type { Finding } from './wire/finding.js';

export interface PipelineOutput {
  onEvent?(ev: EventRecord): void;
  onFlow?(rec: FlowRecord): void;
  onFinding?(f: Finding): void;
}

/** Anything that follows the traffic at flow and event level: the engine, a baseline learner. */
export interface PipelineObserver {
  onFlowStart(flow: FlowInfo, ts: number): void;
  onEvent(ev: EventRecord): void;
  onFlowEnd(rec: FlowRecord): void;
  onArp?(senderMac: number, senderIp: number, ts: number): void;
  advance(now: number): void;
}

export interface PipelineOptions {
  site?: Site | null;
  /** Extra observers, e.g. a BaselineLearner for `baseline learn`. */
  observers?: readonly PipelineObserver[];
  rules?: RuleSet | null;
  baseline?: BaselineChecker | null;
  agentId?: string;
  /** Learning mode for devices the baseline does not know (µs; 0 = off). */
  learningMicros?: number;
  /** Extra server ports per protocol (the site file's `ports:` key is merged in). */
  extraPorts?: Partial<Record<ProtoName, readonly number[]>>;
  /** Flow table caps and timeouts (`--flow-memory` sets memoryBudget). */
  flowLimits?: Partial<FlowLimits>;
}

/** Flows ended before their time, by cause; idle_timeout covers every flow but embryonic ones. */
export interface FlowEvictions {
  cap: number;
  budget: number;
  embryonic_timeout: number;
  idle_timeout: number;
}

export interface PipelineStats {
  packets: number;
  bytes: number;
  decodeErrors: number;
  decodeErrorsByReason: Record<string, number>;
  flows: number;
  activeFlows: number;
  gaps: number;
  gapBytes: number;
  firstTs: number;
  lastTs: number;
  protocols: ProtocolCounters;
  findings: number;
  devices: number;
  flowEvictions: FlowEvictions;
  /** The flow table's memory estimate now and at its peak, bytes. */
  flowMemory: number;
  flowMemoryPeak: number;
  /** The most flows live at once. */
  flowPeak: number;
  /** Incomplete IP datagrams given up: timed out, or pushed out by the fragment caps. */
  fragmentDrops: number;
  /** Devices dropped from the engine's inventory at its cap (least recently seen first). */
  deviceEvictions: number;
  /** Events the engine (or another observer) threw on, skipped. */
  engineErrors: number;
  /** UDP datagrams cut to the datagram analyzers' size cap, and non-IP frames a link analyzer read (issue 15). */
  identity: IdentityCounters;
}

const NOT_ERRORS = new Set(['ok', 'fragment_pending', 'other']);

/** How often (packet time) the idle sweeps of flows, fragments and engine windows run. */
const ADVANCE_INTERVAL_US = 1_000_000;

export class Pipeline {
  readonly decoder = new Decoder();
  readonly flows: FlowTable;
  readonly engine: Engine | null;
  readonly counters: ProtocolCounters;
  readonly identityCounters: IdentityCounters = createIdentityCounters();
  private readonly observers: readonly PipelineObserver[];
  private readonly pkt = createPacket();
  private packets = 0;
  private bytes = 0;
  private flowCount = 0;
  /** Events an observer (the engine, a learner) threw on: counted and skipped. */
  private engineErrors = 0;
  private findings = 0;
  private firstTs = -1;
  private lastTs = 0;
  private nextAdvance = 0;
  private readonly emitEvent: (ev: EventRecord) => void;
  private readonly eventForm: EventForm;
  private readonly linkFrame: LinkFrame = {
    srcMac: -1,
    dstMac: -1,
    etherType: 0,
    payload: new Uint8Array(0),
  };

  constructor(opts: PipelineOptions, out: PipelineOutput) {
    this.counters = createProtocolCounters(ANALYZERS);
    addProtocols(
      this.counters,
      [...DATAGRAM_ANALYZERS, ...LINK_ANALYZERS].map((s) => s.proto),
    );
    const sitePorts = opts.site?.ports ?? {};
    const extra: Partial<Record<ProtoName, number[]>> = {};
    for (const spec of [...ANALYZERS, ...DATAGRAM_ANALYZERS]) {
      extra[spec.proto] = [...(sitePorts[spec.proto] ?? []), ...(opts.extraPorts?.[spec.proto] ?? [])];
    }
    const portMap = buildPortMap(ANALYZERS, extra);
    const datagramPorts = buildDatagramPortMap(DATAGRAM_ANALYZERS, extra);
    const onFinding = (f: Finding): void => {
      this.findings++;
      out.onFinding?.(f);
    };
    const engine =
      opts.rules || opts.baseline
        ? new Engine(
            {
              site: opts.site ?? null,
              rules: opts.rules ?? { rules: [], lists: {}, files: [] },
              baseline: opts.baseline ?? null,
              agentId: opts.agentId ?? 'replay',
              learningMicros: opts.learningMicros ?? 0,
            },
            onFinding,
          )
        : null;
    this.engine = engine;
    const observers: PipelineObserver[] = [...(engine ? [engine] : []), ...(opts.observers ?? [])];
    this.observers = observers;
    const onEvent = (ev: EventRecord): void => {
      for (const o of observers) {
        // The engine or a learner failing on one event must not take the analyzer (or the capture) down with it.
        try {
          o.onEvent(ev);
        } catch {
          this.engineErrors++;
        }
      }
      out.onEvent?.(ev);
    };
    this.emitEvent = onEvent;
    const counters = this.counters;
    const identity = this.identityCounters;
    // Inside, event time is tsMicros (the engine and learners read that): the text form of time and the Community ID
    // are made for the records that are printed.
    const form = out.onEvent ? PRINTED_EVENTS : INSIDE_EVENTS;
    this.eventForm = form;
    // One factory for every flow: a dispatcher (and its analyzer) is made only when payload arrives.
    const dispatcher: ConsumerFactory = (flow) =>
      new FlowDispatcher(flow, ANALYZERS, portMap, onEvent, counters, form);
    this.flows = new FlowTable(
      {
        onFlowStart: (flow) => {
          this.flowCount++;
          for (const o of observers) o.onFlowStart(flow, flow.startTs);
          if (flow.transport === 'udp') {
            // Nearly stateless, made with the flow: the flow table's caps bound how many exist.
            const spec = datagramAnalyzerByPort(datagramPorts, flow);
            return spec ? new DatagramDispatcher(flow, spec, onEvent, counters, identity, form) : null;
          }
          if (flow.transport !== 'tcp') return null;
          // The protocol its port names is known now, for the flow record, even if no payload ever comes.
          flow.app = analyzerByPort(portMap, flow)?.proto ?? null;
          return dispatcher;
        },
        onFlowEnd: (_flow, rec) => {
          for (const o of observers) o.onFlowEnd(rec);
          out.onFlow?.(rec);
        },
      },
      opts.flowLimits,
    );
  }

  /** One captured frame. Never throws on frame content. */
  onFrame(frame: RawFrame): void {
    const pkt = this.pkt;
    this.packets++;
    this.bytes += frame.origLen;
    const ts = frame.ts;
    if (this.firstTs < 0) this.firstTs = ts;
    if (ts > this.lastTs) this.lastTs = ts;
    const status = this.decoder.decode(frame, pkt);
    if (status === 'ok') {
      if (pkt.isArp) {
        for (const o of this.observers) o.onArp?.(pkt.arpSenderMac, pkt.arpSenderIp, ts);
      } else if (pkt.proto === IpProto.TCP || pkt.proto === IpProto.UDP) {
        this.flows.onPacket(pkt);
      }
    } else if (status === 'other' && pkt.etherType !== 0 && pkt.srcMac >= 0) {
      const lf = this.linkFrame;
      lf.srcMac = pkt.srcMac;
      lf.dstMac = pkt.dstMac;
      lf.etherType = pkt.etherType;
      lf.payload = pkt.payload;
      dispatchLinkFrame(
        lf,
        ts,
        LINK_ANALYZERS,
        this.emitEvent,
        this.counters,
        this.identityCounters,
        this.eventForm,
      );
    }
    if (ts >= this.nextAdvance) {
      this.advance(ts);
      this.nextAdvance = ts + ADVANCE_INTERVAL_US;
    }
  }

  /** Run the idle sweeps at packet time `now` (also called by live capture on a timer). */
  advance(now: number): void {
    this.flows.advance(now);
    this.decoder.expire(now);
    for (const o of this.observers) o.advance(now);
  }

  /** End of input: every flow ends (reason eof) and the engine closes its windows. */
  finish(): void {
    this.flows.flush(this.lastTs);
    for (const o of this.observers) o.advance(this.lastTs);
    this.engine?.flush();
  }

  stats(): PipelineStats {
    const d = this.decoder.stats;
    const f = this.flows.stats;
    const byReason: Record<string, number> = {};
    let decodeErrors = 0;
    for (const [status, n] of Object.entries(d.status)) {
      if (n === 0 || NOT_ERRORS.has(status)) continue;
      byReason[status] = n;
      decodeErrors += n;
    }
    return {
      packets: this.packets,
      bytes: this.bytes,
      decodeErrors,
      decodeErrorsByReason: byReason,
      flows: this.flowCount,
      activeFlows: f.active,
      gaps: f.reassembly.gaps,
      gapBytes: f.reassembly.gapBytes,
      firstTs: this.firstTs,
      lastTs: this.lastTs,
      protocols: this.counters,
      findings: this.findings,
      // A count, not engine.devices(): that builds (and formats) every record just to be measured.
      devices: this.engine?.deviceCount ?? 0,
      flowEvictions: {
        cap: f.evictions.cap,
        budget: f.evictions.budget,
        embryonic_timeout: f.timeouts.embryonic,
        idle_timeout: f.timeouts.idle,
      },
      flowMemory: f.memory.bytes,
      flowMemoryPeak: f.memory.peak,
      flowPeak: f.peakActive,
      fragmentDrops: d.fragmentsEvicted + d.fragmentOverflows,
      deviceEvictions: this.engine?.stats.devices.evicted ?? 0,
      engineErrors: this.engineErrors,
      identity: { ...this.identityCounters },
    };
  }
}

export interface ReplayOptions extends PipelineOptions {
  speed?: number;
  signal?: AbortSignal;
  /** Called after each chunk read: the file's index in `files` and its bytes read so far. */
  onProgress?: (fileIndex: number, bytesRead: number) => void;
}

export interface ReplaySummary extends PipelineStats {
  files: number;
  /** Wall-clock seconds spent. */
  seconds: number;
  /** First capture-file error (`FILE: packet N at byte B: reason`), after the valid frames were processed. */
  error: string | null;
}

/**
 * Replays capture files through one pipeline, in order. A bad file stops reading that file (its valid
 * frames are kept) and is reported in `error`; the remaining files are still read.
 */
export async function replayFiles(
  files: readonly string[],
  opts: ReplayOptions,
  out: PipelineOutput,
): Promise<ReplaySummary> {
  const started = process.hrtime.bigint();
  const pipeline = new Pipeline(opts, out);
  const onFrame = (frame: RawFrame): void => pipeline.onFrame(frame);
  let error: string | null = null;
  for (const [index, file] of files.entries()) {
    try {
      const progress = opts.onProgress;
      await readCaptureFile(file, onFrame, {
        ...(opts.speed !== undefined ? { speed: opts.speed } : {}),
        ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
        ...(progress ? { onProgress: (bytes: number) => progress(index, bytes) } : {}),
      });
    } catch (err) {
      error ??= err instanceof Error ? err.message : String(err);
    }
  }
  pipeline.finish();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { ...pipeline.stats(), files: files.length, seconds, error };
}

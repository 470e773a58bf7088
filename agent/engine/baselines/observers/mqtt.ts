// MQTT facts: client ids, topics published (generalised) with retain and size, subscriptions.
import type { EventRecord } from '../../../protocols/types.js';
import { generaliseTopic } from '../baseline-model.js';
import { str, type Observation } from './observation.js';

const MQTT_SERVER_PORTS: ReadonlySet<number> = new Set([1883, 8883, 8083, 8084]);

export function observeMqtt(ev: EventRecord, fromClient: boolean | undefined, out: Observation[]): void {
  const f = ev.fields;
  const src = ev.src.ip;
  const dst = ev.dst.ip;
  const clientSide =
    fromClient ?? (MQTT_SERVER_PORTS.has(ev.dst.port) && !MQTT_SERVER_PORTS.has(ev.src.port));
  if (ev.type === 'connect') {
    const id = str(f.client_id);
    if (id !== undefined) {
      out.push({ kind: 'mqtt_client_id', dev: src, value: id });
      out.push({ kind: 'mqtt_client_seen', dev: dst, client_id: id, from: src });
    }
  } else if (ev.type === 'publish' && clientSide) {
    const topic = str(f.topic);
    if (topic !== undefined) {
      const size = typeof f.payload_size === 'number' ? f.payload_size : 0;
      out.push({
        kind: 'mqtt_publish',
        dev: src,
        topic: generaliseTopic(topic),
        retain: f.retain === true,
        size,
        peer: dst,
      });
    }
  } else if (ev.type === 'subscribe') {
    const filters = f.topic_filters;
    if (!Array.isArray(filters)) return;
    for (const tf of filters) {
      if (tf !== null && typeof tf === 'object' && !Array.isArray(tf)) {
        const filter = str(tf.filter);
        if (filter !== undefined)
          out.push({ kind: 'mqtt_subscribe', dev: src, filter: generaliseTopic(filter), peer: dst });
      }
    }
  }
}

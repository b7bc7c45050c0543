/**
 * The door opens by an MQTT publish (Tasmota, ESPHome, Zigbee2MQTT relays): the payload
 * template on a topic, done when the broker acknowledged it (PUBACK for QoS 1, PUBCOMP for
 * QoS 2; MQTT 3.1.1 §4.3) within the deadline. The connection is not the door's: it belongs
 * to a broker config node (Node-RED's mqtt-broker, an intercom-home-assistant) or to the
 * shared client of a broker URL (mqtt-clients.ts), so many doors hold one connection.
 *
 * A command must never arrive late: nothing is published while the connection is down
 * (the door waits for it up to the deadline instead), and a publish that missed the
 * deadline is abandoned where the connection allows it.
 */
import { errorText, IntercomError } from '../core/errors';
import { render } from './template';
import { OpenError } from './open-error';
import { templateScope, type ActionRunner, type MqttAction, type OpenContext } from './action';

export interface MqttConnection {
  /** names the broker in messages: its URL without credentials, or its config node */
  readonly label: string;
  /** up now: a publish goes out at once instead of waiting in a queue */
  readonly connected: boolean;
  /** connect if it does not yet (connections opened on first use) */
  start?(): void;
  /** resolves once the broker acknowledged */
  publish(topic: string, payload: string, opts: { qos: 0 | 1 | 2; retain: boolean }): Promise<void>;
  /** a publish missed its deadline: drop what is queued so it is never delivered later */
  abandon?(): void;
}

export interface MqttDeps {
  /** looked up at each open: a config node's connection may come later than the door */
  connection: () => MqttConnection | undefined;
  door: { id: string; name: string };
  timeoutMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

/** How often to look whether a connection came up, while waiting for it. */
const POLL_MS = 20;

export class MqttRunner implements ActionRunner {
  // QoS 1 may deliver twice anyway; a command is not repeated on top of that.
  readonly idempotent = false;

  constructor(
    private readonly a: MqttAction,
    private readonly deps: MqttDeps,
  ) {
    if (!a.topic || /[#+]/.test(a.topic)) throw new OpenError('door.mqttTopic');
  }

  async attempt(ctx: OpenContext): Promise<undefined> {
    const { now, sleep, timeoutMs } = this.deps;
    const conn = this.deps.connection();
    if (!conn) throw new OpenError('door.noMqttBroker', {}, { outcome: 'unavailable' });
    const deadline = now() + timeoutMs;
    conn.start?.();
    while (!conn.connected && now() < deadline) await sleep(Math.min(POLL_MS, Math.max(1, deadline - now())));
    if (!conn.connected) {
      conn.abandon?.();
      throw new OpenError('door.mqttUnreachable', { broker: conn.label, ms: timeoutMs });
    }
    const payload = render(this.a.payload, templateScope(ctx, this.deps.door), 'none');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), Math.max(1, deadline - now()));
    });
    try {
      const r = await Promise.race([conn.publish(this.a.topic, payload, { qos: this.a.qos ?? 1, retain: this.a.retain === true }), late]);
      if (r === 'late') {
        conn.abandon?.();
        throw new OpenError('door.mqttNoAck', { ms: timeoutMs });
      }
    } catch (err) {
      // our own codes keep theirs; what the MQTT client threw is its text
      if (err instanceof IntercomError) throw err instanceof OpenError ? err : new OpenError(err.code, err.params);
      throw new OpenError('door.mqttFailed', { detail: errorText(err).slice(0, 120) });
    } finally {
      clearTimeout(timer);
    }
    return undefined;
  }
}

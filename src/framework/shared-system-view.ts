// SystemView answers shared between concurrent requests.
//
// Every SystemView call is a gRPC call back into the host: one more HTTP/2
// stream, which costs the plugin about as much CPU as the request it serves. The
// host never tells a plugin that `secrets tune` changed the mount's TTLs, so the
// answers cannot be cached. They can be shared, though, without ever being
// older than the request that uses them: a request may take the answer of a call
// sent after the request began, since the host read its state at some moment
// within the request's own lifetime. A request that began while an older call
// was in flight sends its own.
import type { PluginEnvironment, SystemView } from "./logical.ts";

type SystemCall = keyof SystemView;
type Answer<Call extends SystemCall> = Awaited<ReturnType<SystemView[Call]>>;

interface InFlight {
  /** The clock reading when the call was sent. */
  sentAt: number;
  answer: Promise<unknown>;
}

export class SharedSystemCalls {
  /** Orders request starts and call sends; nothing else reads it. */
  private clock = 0;
  private readonly inFlight = new Map<SystemCall, InFlight>();

  constructor(private readonly host: SystemView) {}

  /** The view one request uses, from the moment it began. */
  viewForRequest(): SystemView {
    return new RequestSystemView(this, ++this.clock);
  }

  ask<Call extends SystemCall>(call: Call, requestBeganAt: number): Promise<Answer<Call>> {
    const current = this.inFlight.get(call);
    if (current !== undefined && current.sentAt > requestBeganAt) return current.answer as Promise<Answer<Call>>;
    const sent: InFlight = { sentAt: ++this.clock, answer: this.host[call]() };
    this.inFlight.set(call, sent);
    const settle = () => {
      if (this.inFlight.get(call) === sent) this.inFlight.delete(call);
    };
    sent.answer.then(settle, settle);
    return sent.answer as Promise<Answer<Call>>;
  }
}

class RequestSystemView implements SystemView {
  constructor(
    private readonly shared: SharedSystemCalls,
    private readonly beganAt: number,
  ) {}

  defaultLeaseTtl(): Promise<bigint> {
    return this.shared.ask("defaultLeaseTtl", this.beganAt);
  }

  maxLeaseTtl(): Promise<bigint> {
    return this.shared.ask("maxLeaseTtl", this.beganAt);
  }

  tainted(): Promise<boolean> {
    return this.shared.ask("tainted", this.beganAt);
  }

  localMount(): Promise<boolean> {
    return this.shared.ask("localMount", this.beganAt);
  }

  replicationState(): Promise<number> {
    return this.shared.ask("replicationState", this.beganAt);
  }

  mlockEnabled(): Promise<boolean> {
    return this.shared.ask("mlockEnabled", this.beganAt);
  }

  pluginEnv(): Promise<PluginEnvironment> {
    return this.shared.ask("pluginEnv", this.beganAt);
  }
}

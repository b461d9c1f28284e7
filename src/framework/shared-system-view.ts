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
//
// A request may also send a call ahead, before it knows it needs the answer
// (while the framework waits on the replication state): a lone request then
// waits for one round trip instead of two.
import type { PluginEnvironment, SystemCall, SystemView } from "./logical.ts";

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
  viewForRequest(): RequestSystemView {
    return new RequestSystemView(this, ++this.clock);
  }

  ask<Call extends SystemCall>(call: Call, requestBeganAt: number): Promise<Answer<Call>> {
    const current = this.inFlight.get(call);
    if (current !== undefined && current.sentAt > requestBeganAt) return current.answer as Promise<Answer<Call>>;
    return this.send(call);
  }

  /**
   * The answer to a call sent ahead, or undefined when an older call is in
   * flight. Under load calls overlap, and the request will likely share a
   * newer one when it asks; one more call now would spend the CPU that limits
   * throughput there to save a wait that matters only when requests are few.
   */
  askAhead<Call extends SystemCall>(call: Call, requestBeganAt: number): Promise<Answer<Call>> | undefined {
    const current = this.inFlight.get(call);
    if (current === undefined) return this.send(call);
    return current.sentAt > requestBeganAt ? (current.answer as Promise<Answer<Call>>) : undefined;
  }

  private send<Call extends SystemCall>(call: Call): Promise<Answer<Call>> {
    const sent: InFlight = { sentAt: ++this.clock, answer: this.host[call]() };
    this.inFlight.set(call, sent);
    const settle = () => {
      if (this.inFlight.get(call) === sent) this.inFlight.delete(call);
    };
    sent.answer.then(settle, settle);
    return sent.answer as Promise<Answer<Call>>;
  }
}

export class RequestSystemView implements SystemView {
  /** Calls sent ahead for this request; each is used for the rest of the request. */
  private ahead: Map<SystemCall, Promise<unknown>> | undefined;

  constructor(
    private readonly shared: SharedSystemCalls,
    private readonly beganAt: number,
  ) {}

  /** Sends these calls now, before the request asks for their answers. */
  sendAhead(calls: readonly SystemCall[]): void {
    for (const call of calls) {
      const answer = this.shared.askAhead(call, this.beganAt);
      // A failure the request never asks for (refused on a standby) raises no
      // unhandled rejection: `send` already handles every answer.
      if (answer !== undefined) (this.ahead ??= new Map()).set(call, answer);
    }
  }

  defaultLeaseTtl(): Promise<bigint> {
    return this.answer("defaultLeaseTtl");
  }

  maxLeaseTtl(): Promise<bigint> {
    return this.answer("maxLeaseTtl");
  }

  tainted(): Promise<boolean> {
    return this.answer("tainted");
  }

  localMount(): Promise<boolean> {
    return this.answer("localMount");
  }

  replicationState(): Promise<number> {
    return this.answer("replicationState");
  }

  mlockEnabled(): Promise<boolean> {
    return this.answer("mlockEnabled");
  }

  pluginEnv(): Promise<PluginEnvironment> {
    return this.answer("pluginEnv");
  }

  private answer<Call extends SystemCall>(call: Call): Promise<Answer<Call>> {
    const sent = this.ahead?.get(call) as Promise<Answer<Call>> | undefined;
    return sent ?? this.shared.ask(call, this.beganAt);
  }
}

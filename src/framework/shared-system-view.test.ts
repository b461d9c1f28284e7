import { describe, expect, it } from "vitest";
import { SharedSystemCalls } from "./shared-system-view.ts";
import { FakeSystemView } from "./testing.ts";

/** A host whose answers wait until released, counting the calls that reach it. */
class HeldHost extends FakeSystemView {
  calls: string[] = [];
  private waiting: Array<() => void> = [];
  failNext: Error | undefined;

  release(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const open of waiting) open();
  }

  private async held<T>(name: string, answer: () => T): Promise<T> {
    this.calls.push(name);
    const failure = this.failNext;
    this.failNext = undefined;
    // The answer is read when the call is made, as the host reads its mount table on arrival.
    const value = answer();
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    if (failure !== undefined) throw failure;
    return value;
  }

  override maxLeaseTtl(): Promise<bigint> {
    return this.held("maxLeaseTtl", () => BigInt(this.maxLeaseTtlSeconds));
  }

  override defaultLeaseTtl(): Promise<bigint> {
    return this.held("defaultLeaseTtl", () => BigInt(this.defaultLeaseTtlSeconds));
  }

  override replicationState(): Promise<number> {
    return this.held("replicationState", () => this.replication);
  }
}

function setup(): { host: HeldHost; shared: SharedSystemCalls } {
  const host = new HeldHost({ maxLeaseTtlSeconds: 100 });
  return { host, shared: new SharedSystemCalls(host) };
}

describe("SystemView answers shared between requests", () => {
  it("one call answers every request that began before it was sent", async () => {
    const { host, shared } = setup();
    const views = [shared.viewForRequest(), shared.viewForRequest(), shared.viewForRequest()];
    const answers = Promise.all(views.map((view) => view.maxLeaseTtl()));
    host.release();
    expect(await answers).toEqual([100n, 100n, 100n]);
    expect(host.calls).toEqual(["maxLeaseTtl"]);
  });

  it("a request that began after a call was sent never takes that call's answer", async () => {
    const { host, shared } = setup();
    const early = shared.viewForRequest().maxLeaseTtl();
    // `secrets tune` lands while the early call is in flight; the next request must see it.
    host.maxLeaseTtlSeconds = 50;
    const late = shared.viewForRequest().maxLeaseTtl();
    host.release();
    expect(await early).toBe(100n);
    expect(await late).toBe(50n);
    expect(host.calls).toEqual(["maxLeaseTtl", "maxLeaseTtl"]);
  });

  it("a later request can share the newer call once an older one is in flight", async () => {
    const { host, shared } = setup();
    const first = shared.viewForRequest();
    const firstAnswer = first.maxLeaseTtl();
    const second = shared.viewForRequest();
    const third = shared.viewForRequest();
    const answers = Promise.all([second.maxLeaseTtl(), third.maxLeaseTtl()]);
    host.release();
    await Promise.all([firstAnswer, answers]);
    expect(host.calls).toEqual(["maxLeaseTtl", "maxLeaseTtl"]);
  });

  it("nothing is kept once a call is answered", async () => {
    const { host, shared } = setup();
    const view = shared.viewForRequest();
    const first = view.maxLeaseTtl();
    host.release();
    await first;
    const second = view.maxLeaseTtl();
    host.release();
    await second;
    expect(host.calls).toEqual(["maxLeaseTtl", "maxLeaseTtl"]);
  });

  it("different calls are not shared with one another", async () => {
    const { host, shared } = setup();
    const view = shared.viewForRequest();
    const answers = Promise.all([view.maxLeaseTtl(), view.defaultLeaseTtl(), view.replicationState()]);
    host.release();
    await answers;
    expect(host.calls.sort()).toEqual(["defaultLeaseTtl", "maxLeaseTtl", "replicationState"]);
  });

  it("a failed call fails every request sharing it, and the next request asks again", async () => {
    const { host, shared } = setup();
    host.failNext = new Error("broker gone");
    const views = [shared.viewForRequest(), shared.viewForRequest()];
    const answers = views.map((view) => view.maxLeaseTtl());
    host.release();
    for (const answer of answers) await expect(answer).rejects.toThrow("broker gone");
    const retry = shared.viewForRequest().maxLeaseTtl();
    host.release();
    expect(await retry).toBe(100n);
    expect(host.calls).toEqual(["maxLeaseTtl", "maxLeaseTtl"]);
  });
});

describe("SystemView calls sent ahead", () => {
  it("a lone request sends the call at once and its later ask takes that answer", async () => {
    const { host, shared } = setup();
    const view = shared.viewForRequest();
    view.sendAhead(["maxLeaseTtl"]);
    expect(host.calls).toEqual(["maxLeaseTtl"]);
    const answer = view.maxLeaseTtl();
    host.release();
    expect(await answer).toBe(100n);
    expect(host.calls).toEqual(["maxLeaseTtl"]);
  });

  it("never takes an older call in flight: the request asks for itself later and sees a tune made meanwhile", async () => {
    const { host, shared } = setup();
    const older = shared.viewForRequest().maxLeaseTtl();
    host.maxLeaseTtlSeconds = 50;
    const view = shared.viewForRequest();
    view.sendAhead(["maxLeaseTtl"]);
    expect(host.calls).toEqual(["maxLeaseTtl"]);
    const answer = view.maxLeaseTtl();
    host.release();
    expect(await older).toBe(100n);
    expect(await answer).toBe(50n);
    expect(host.calls).toEqual(["maxLeaseTtl", "maxLeaseTtl"]);
  });

  it("shares a newer call in flight instead of sending another", async () => {
    const { host, shared } = setup();
    const view = shared.viewForRequest();
    const newer = shared.viewForRequest().maxLeaseTtl();
    view.sendAhead(["maxLeaseTtl"]);
    const answer = view.maxLeaseTtl();
    host.release();
    expect([await newer, await answer]).toEqual([100n, 100n]);
    expect(host.calls).toEqual(["maxLeaseTtl"]);
  });

  it("a failed call that the request never asks for raises no unhandled rejection", async () => {
    const { host, shared } = setup();
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", record);
    try {
      host.failNext = new Error("broker gone");
      shared.viewForRequest().sendAhead(["maxLeaseTtl"]);
      host.release();
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(host.calls).toEqual(["maxLeaseTtl"]);
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", record);
    }
  });

  it("a failed call sent ahead still fails the request that asks for it", async () => {
    const { host, shared } = setup();
    host.failNext = new Error("broker gone");
    const view = shared.viewForRequest();
    view.sendAhead(["maxLeaseTtl"]);
    const answer = view.maxLeaseTtl();
    host.release();
    await expect(answer).rejects.toThrow("broker gone");
  });
});

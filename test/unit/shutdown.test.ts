// A plugin that is told to stop must stop promptly, even with Nomad calls in
// flight: the host kills it 2 s after Shutdown, and unmount/reload wait on Cleanup.
import { afterEach, describe, expect, it } from "vitest";
import { NomadClient } from "../../src/nomad-client/index.ts";
import { startNomadFake, type NomadFake } from "../support/nomad-fake.ts";
import { startEngine, type EngineHarness } from "../support/engine-harness.ts";

let nomad: NomadFake | undefined;
let engine: EngineHarness | undefined;
afterEach(async () => {
  await nomad?.stop();
  nomad = undefined;
  await engine?.nomad.stop();
  engine = undefined;
});

const elapsed = async (work: () => Promise<unknown>) => {
  const started = Date.now();
  await work();
  return Date.now() - started;
};

describe("stopping with Nomad calls in flight", () => {
  it("close(grace) aborts what is still running once the grace is over", async () => {
    nomad = await startNomadFake();
    nomad.setLatency(5_000, { method: "PUT", path: "/v1/acl/token" });
    const client = new NomadClient({ address: nomad.url, token: nomad.managementToken as string });
    const pending = client.createToken({ name: "vault-x-y-0123456789", type: "management" });
    const outcome = pending.then(
      () => "created",
      (error: Error) => error.message,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closeTime = await elapsed(() => client.close(200));
    expect(closeTime).toBeLessThan(2_000);
    expect(await outcome).toMatch(/was cancelled \(the plugin is stopping\)/);
  });

  it("a caller that stops waiting cancels its create", async () => {
    nomad = await startNomadFake();
    nomad.setLatency(5_000, { method: "PUT", path: "/v1/acl/token" });
    const client = new NomadClient({ address: nomad.url, token: nomad.managementToken as string });
    const caller = new AbortController();
    setTimeout(() => caller.abort(), 100);
    const started = Date.now();
    await expect(client.createToken({ name: "n", type: "management", signal: caller.signal })).rejects.toThrow(
      /was cancelled \(the caller stopped waiting\)/,
    );
    expect(Date.now() - started).toBeLessThan(2_000);
    await client.close(0);
  });

  it("an engine cleanup (unmount, reload, seal) does not wait out Nomad's timeout", async () => {
    engine = await startEngine();
    await engine.configure();
    await engine.call("update", "role/admin", { type: "management" });
    engine.nomad.setLatency(5_000, { method: "PUT", path: "/v1/acl/token" });
    const inFlight = engine.creds("admin");
    await new Promise((resolve) => setTimeout(resolve, 100));
    const cleanupTime = await elapsed(() => engine!.mount.backend.cleanup());
    expect(cleanupTime).toBeLessThan(1_500);
    expect((await inFlight).status).toBe(500);
  });
});

// The Nomad engine on an OpenBao performance standby (standby reads, 2.5+):
// everything with a side effect is handed back to the host for forwarding
// before it starts, so no Nomad token is ever minted on a standby, while
// plain reads are answered from the standby's own storage.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { READ_ONLY_MESSAGE } from "../../src/shared/errors.ts";
import { ReplicationState } from "../../src/framework/replication.ts";
import type { Operation } from "../../src/framework/logical.ts";
import { startEngine, type EngineHarness } from "../support/engine-harness.ts";

let h: EngineHarness;
beforeEach(async () => {
  h = await startEngine();
  expect((await h.configure()).status).toBe(204);
  expect((await h.call("update", "config/lease", { ttl: 600, max_ttl: 3600 })).status).toBe(204);
  expect((await h.call("update", "role/admin", { type: "management" })).status).toBe(204);
  h.mount.system.replication = ReplicationState.PerformanceStandby;
  // As on a real standby: its storage refuses writes (with another message than the forwarding one).
  h.mount.storage.setReadOnly(true);
});
afterEach(async () => {
  await h.close();
});

const forwarded: [Operation, string, Record<string, unknown> | null][] = [
  ["read", "creds/admin", null],
  ["read", "creds/no-such-role", null],
  ["update", "config/access", { max_token_name_length: 64 }],
  ["create", "config/access", { address: "http://127.0.0.1:1" }],
  ["delete", "config/access", null],
  ["update", "config/lease", { ttl: 60 }],
  ["delete", "config/lease", null],
  ["update", "role/admin", { type: "client", policies: "x" }],
  ["create", "role/new", { policies: "x" }],
  ["delete", "role/admin", null],
  ["update", "config/rotate-root", null],
];

describe("on a performance standby", () => {
  it.each(forwarded)("%s %s is forwarded to the active node before anything runs", async (operation, path, data) => {
    const outcome = await h.call(operation, path, data);
    expect(outcome).toEqual({ status: 500, errors: [READ_ONLY_MESSAGE] });
    expect(h.nomad.issuedTokens()).toEqual([]);
    expect(h.mount.storage.keys()).toEqual(["config/access", "config/lease", "role/admin"]);
  });

  it.each<[Operation, string]>([
    ["read", "config/access"],
    ["read", "config/lease"],
    ["read", "role/admin"],
    ["list", "role/"],
    ["help", "creds/admin"],
    ["help", "config/access"],
  ])("%s %s is answered on the standby itself", async (operation, path) => {
    const outcome = await h.call(operation, path);
    expect(outcome.status).toBe(200);
  });

  it("mints again once the node is active (after a failover)", async () => {
    h.mount.system.replication = 0;
    h.mount.storage.setReadOnly(false);
    expect((await h.creds("admin")).status).toBe(200);
    expect(h.nomad.issuedTokens()).toHaveLength(1);
  });
});

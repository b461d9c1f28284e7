// The Nomad engine on an OpenBao performance standby (standby reads, 2.5+):
// everything with a side effect is handed back to the host for forwarding
// before it starts, so no Nomad token is ever minted on a standby, while
// plain reads are answered from the standby's own storage.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { READ_ONLY_MESSAGE } from "../../src/shared/errors.ts";
import { ReplicationState } from "../../src/framework/replication.ts";
import type { Operation } from "../../src/framework/logical.ts";
import { startEngine, type EngineHarness } from "../support/engine-harness.ts";
import { putJSON } from "../../src/framework/storage.ts";

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

// Roles and config are read through a cache (src/framework/storage-cache.ts).
// On a standby another node writes them: the host's InvalidateKey is what
// makes the new value show, as OpenBao sends it for every replicated key.
describe("cached roles and config on a standby", () => {
  async function replicate(key: string, value: unknown): Promise<void> {
    h.mount.storage.setReadOnly(false);
    await putJSON(h.mount.storage, key, value);
    h.mount.storage.setReadOnly(true);
  }

  it("shows a role the active node changed once the host invalidates its key", async () => {
    expect((await h.call("read", "role/admin")).data).toMatchObject({ type: "management" });
    await replicate("role/admin", { policies: ["readonly"], roles: [], type: "client", global: false, ttl: 0, max_ttl: 0 });
    expect((await h.call("read", "role/admin")).data).toMatchObject({ type: "management" });
    await h.mount.backend.invalidateKey("role/admin");
    expect((await h.call("read", "role/admin")).data).toMatchObject({ type: "client", policies: ["readonly"] });
  });

  it("shows config/lease and a deleted role after their invalidation", async () => {
    expect((await h.call("read", "config/lease")).data).toEqual({ ttl: 600, max_ttl: 3600 });
    await replicate("config/lease", { ttl: 60e9, max_ttl: 120e9 });
    h.mount.storage.setReadOnly(false);
    await h.mount.storage.delete("role/admin");
    h.mount.storage.setReadOnly(true);
    await h.mount.backend.invalidateKey("config/lease");
    await h.mount.backend.invalidateKey("role/admin");
    expect((await h.call("read", "config/lease")).data).toEqual({ ttl: 60, max_ttl: 120 });
    expect((await h.call("read", "role/admin")).status).toBe(404);
  });

  it("mints with what the storage holds after a promotion, which sets the mount up again", async () => {
    expect((await h.call("read", "role/admin")).data).toMatchObject({ type: "management" });
    await replicate("role/admin", { policies: ["readonly"], roles: [], type: "client", global: false, ttl: 0, max_ttl: 0 });
    // The host tears the mount down on a state change (Cleanup), then the node is active.
    await h.mount.backend.cleanup();
    h.mount.system.replication = 0;
    h.mount.storage.setReadOnly(false);
    expect((await h.creds("admin")).status).toBe(200);
    expect(h.nomad.issuedTokens().map((token) => [token.Type, token.Policies])).toEqual([["client", ["readonly"]]]);
  });
});

describe("cached roles on the active node", () => {
  it("mints with a role as soon as it was rewritten through the plugin", async () => {
    h.mount.system.replication = 0;
    h.mount.storage.setReadOnly(false);
    expect((await h.creds("admin")).status).toBe(200);
    expect((await h.call("update", "role/admin", { type: "client", policies: "readonly" })).status).toBe(204);
    expect((await h.creds("admin")).status).toBe(200);
    expect((await h.call("delete", "role/admin")).status).toBe(204);
    expect((await h.creds("admin")).errors).toEqual(['role "admin" not found']);
    expect(h.nomad.issuedTokens().map((token) => token.Type).sort()).toEqual(["client", "management"]);
  });
});

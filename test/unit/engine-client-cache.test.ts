// One cached Nomad client per mount: reused between requests, rebuilt when
// config/access is written or deleted, and when Vault invalidates the key
// (replication changed the stored config underneath us).
import { afterEach, describe, expect, it } from "vitest";
import { putJSON } from "../../src/framework/storage.ts";
import { readAccessConfig } from "../../src/engine/nomad/path-config-access.ts";
import { startNomadFake, type NomadFake } from "../support/nomad-fake.ts";
import { startEngine, type EngineHarness } from "../support/engine-harness.ts";

let h: EngineHarness | undefined;
let other: NomadFake | undefined;
afterEach(async () => {
  await h?.close();
  await other?.stop();
});

describe("the mount's Nomad client", () => {
  it("is rebuilt on InvalidateKey(config/access), not before", async () => {
    h = await startEngine();
    other = await startNomadFake();
    await h.configure();
    await h.call("update", "role/admin", { type: "management" });
    expect((await h.creds("admin")).status).toBe(200);

    // Replication rewrites the stored config without going through the path.
    const stored = await readAccessConfig(h.mount.storage);
    await putJSON(h.mount.storage, "config/access", { ...stored, address: other.url, token: other.managementToken });
    expect((await h.creds("admin")).status).toBe(200);
    expect(other.issuedTokens()).toHaveLength(0); // still the cached client

    await h.mount.backend.invalidateKey("config/access");
    expect((await h.creds("admin")).status).toBe(200);
    expect(other.issuedTokens()).toHaveLength(1);
    expect(h.nomad.issuedTokens()).toHaveLength(2);
  });

  it("is rebuilt when config/access is written", async () => {
    h = await startEngine();
    other = await startNomadFake();
    await h.configure();
    await h.call("update", "role/admin", { type: "management" });
    await h.creds("admin");
    await h.call("update", "config/access", { address: other.url, token: other.managementToken });
    await h.creds("admin");
    expect(other.issuedTokens()).toHaveLength(1);
  });
});

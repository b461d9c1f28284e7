// Secret hygiene over a full cycle at trace level, with TLS to Nomad (so a
// client key is configured) and failures on the way: no secret ID, management
// token, client key or PEM private key in any log line, error message or read.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTestPki } from "../support/nomad-fake.ts";
import { startEngine, type EngineHarness } from "../support/engine-harness.ts";
import type { HttpOutcome } from "../support/vault-http.ts";

const pki = makeTestPki();
let h: EngineHarness;
const outcomes: HttpOutcome[] = [];

beforeAll(async () => {
  h = await startEngine({
    nomad: { tls: { cert: pki.serverCert, key: pki.serverKey, clientCa: pki.caCert } },
  });
});
afterAll(async () => {
  await h.close();
});

function keyBody(pem: string): string {
  return pem.split("\n").filter((line) => line !== "" && !line.startsWith("-----")).join("");
}

describe("secret hygiene over a full create → renew → revoke cycle", () => {
  it("never shows a secret in logs, errors or reads", async () => {
    const record = (outcome: HttpOutcome) => {
      outcomes.push(outcome);
      return outcome;
    };
    const management = h.nomad.managementToken as string;
    expect(
      record(
        await h.call("update", "config/access", {
          address: h.nomad.url,
          token: management,
          ca_cert: pki.caCert,
          client_cert: pki.clientCert,
          client_key: pki.clientKey,
        }),
      ).status,
    ).toBe(204);
    record(await h.call("update", "config/lease", { ttl: "10m", max_ttl: "1h" }));
    record(await h.call("update", "role/admin", { type: "management" }));
    record(await h.call("update", "role/dispatch", { policies: "dispatch" }));

    const issued = [await h.creds("admin"), await h.creds("dispatch")];
    const secretIds = issued.map((outcome) => outcome.data?.secret_id as string);
    expect(secretIds.every((id) => typeof id === "string" && id.length > 0)).toBe(true);

    for (const outcome of issued) {
      expect(outcome.secret.internalData).toEqual({ accessor_id: outcome.data?.accessor_id, secret_type: "token" });
      const renewed = record(await h.renew("creds/admin", outcome.secret, 300));
      expect(renewed.status).toBe(200);
      expect(JSON.stringify(renewed.response, (_k, v) => (typeof v === "bigint" ? String(v) : v))).not.toContain(
        outcome.data?.secret_id as string,
      );
    }

    // Failures on the way: Nomad refusing, Nomad answering an error, a bad write.
    h.nomad.failNext({ method: "PUT", path: "/v1/acl/token", status: 500, body: `boom ${management}` });
    record(await h.creds("admin"));
    h.nomad.failNext({ method: "DELETE", path: "/v1/acl/token/:accessor", status: 403, body: "Permission denied" });
    record(await h.revoke("creds/admin", issued[0]!.secret));
    record(await h.call("update", "config/access", { client_key: "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI\n-----END EC PRIVATE KEY-----" }));

    for (const outcome of issued) record(await h.revoke("creds/x", outcome.secret));
    record(await h.call("update", "config/rotate-root", {}));
    const read = record(await h.call("read", "config/access"));
    expect(read.data).not.toHaveProperty("token");
    expect(read.data).not.toHaveProperty("client_key");

    const logs = h.mount.logs.join("");
    const errors = outcomes.flatMap((outcome) => outcome.errors ?? []).join("\n");
    const reads = JSON.stringify(read);
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of [management, ...secretIds, keyBody(pki.clientKey), "MHcCAQEEI"]) {
      expect(logs).not.toContain(secret);
      expect(errors).not.toContain(secret);
      expect(reads).not.toContain(secret);
    }
    expect(logs).not.toMatch(/PRIVATE KEY-----\n?[A-Za-z0-9+/]/);
    // The accessor is not a secret, and logs name it so operators can follow a lease.
    expect(logs).toContain(issued[0]!.data?.accessor_id as string);
  });
});

// Parity with Vault's builtin Nomad engine, and each deliberate difference.
// `builtin` says what the builtin does for the same input: "same" cases hold us
// to it; "differs" cases are improvements, and each would fail on the builtin.
import { putJSON } from "../../src/framework/storage.ts";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startEngine, type EngineHarness } from "../support/engine-harness.ts";

let h: EngineHarness;
beforeEach(async () => {
  h = await startEngine();
});
afterEach(async () => {
  await h.close();
});

interface ParityCase {
  name: string;
  builtin: "same" | `differs: ${string}`;
  run(): Promise<void>;
}

const cases: ParityCase[] = [
  {
    name: "config/access read before any write is 404",
    builtin: "same",
    run: async () => expect((await h.call("read", "config/access")).status).toBe(404),
  },
  {
    name: "config/access never returns token or client_key",
    builtin: "same",
    run: async () => {
      expect((await h.configure({ max_token_name_length: 64 })).status).toBe(204);
      const read = await h.call("read", "config/access");
      expect(read.status).toBe(200);
      expect(read.data).toMatchObject({ address: h.nomad.url, max_token_name_length: 64, ca_cert: "", client_cert: "" });
      expect(read.data).not.toHaveProperty("token");
      expect(read.data).not.toHaveProperty("client_key");
      expect(JSON.stringify(read)).not.toContain(h.nomad.managementToken as string);
    },
  },
  {
    name: "config/access with no token bootstraps Nomad ACLs and keeps the bootstrap token",
    builtin: "same",
    run: async () => {
      const fresh = await startEngine({ nomad: { bootstrapped: false } });
      try {
        expect((await fresh.call("update", "config/access", { address: fresh.nomad.url })).status).toBe(204);
        await fresh.call("update", "role/admin", { type: "management" });
        expect((await fresh.creds("admin")).status).toBe(200);
        const again = await fresh.call("update", "config/access", { address: fresh.nomad.url, token: "" });
        expect(again.status).toBe(400);
        expect(again.errors?.[0]).toMatch(/^Token not provided and failed to bootstrap ACLs: .*ACL bootstrap already done/);
      } finally {
        await fresh.close();
      }
    },
  },
  {
    name: "without config/access the client falls back to NOMAD_ADDR and NOMAD_TOKEN",
    builtin: "same",
    run: async () => {
      const fromEnv = await startEngine();
      const engine = await startEngine({ env: { NOMAD_ADDR: fromEnv.nomad.url, NOMAD_TOKEN: fromEnv.nomad.managementToken } });
      try {
        await engine.call("update", "role/admin", { type: "management" });
        expect((await engine.creds("admin")).status).toBe(200);
        expect(fromEnv.nomad.issuedTokens()).toHaveLength(1);
      } finally {
        await engine.close();
        await fromEnv.close();
      }
    },
  },
  {
    name: "config/lease round trip in seconds, read before write is 404",
    builtin: "same",
    run: async () => {
      expect((await h.call("read", "config/lease")).status).toBe(404);
      expect((await h.call("update", "config/lease", { ttl: "1h", max_ttl: 7200 })).status).toBe(204);
      expect((await h.call("read", "config/lease")).data).toEqual({ ttl: 3600, max_ttl: 7200 });
      expect((await h.call("delete", "config/lease")).status).toBe(204);
      expect((await h.call("read", "config/lease")).status).toBe(404);
    },
  },
  {
    name: "config/lease is stored as the builtin stores it (Go durations in nanoseconds), and seconds from older builds still read",
    builtin: "same",
    run: async () => {
      await h.call("update", "config/lease", { ttl: "7m", max_ttl: "20m" });
      const stored = await h.mount.storage.get("config/lease");
      expect(JSON.parse(Buffer.from(stored?.value ?? new Uint8Array()).toString("utf8"))).toEqual({ ttl: 420e9, max_ttl: 1200e9 });
      // What the builtin leaves behind when its mount is tuned to this plugin, and what 0.1.0 wrote.
      // Written under the plugin, so dropped from its read cache as a new plugin process starts without it.
      await putJSON(h.mount.storage, "config/lease", { ttl: 31536000e9, max_ttl: 0 });
      await h.mount.backend.invalidateKey("config/lease");
      expect((await h.call("read", "config/lease")).data).toEqual({ ttl: 31536000, max_ttl: 0 });
      await putJSON(h.mount.storage, "config/lease", { ttl: 600, max_ttl: 3600 });
      await h.mount.backend.invalidateKey("config/lease");
      expect((await h.call("read", "config/lease")).data).toEqual({ ttl: 600, max_ttl: 3600 });
    },
  },
  {
    name: "role: management role with policies is refused",
    builtin: "same",
    run: async () => {
      const out = await h.call("update", "role/m", { type: "management", policies: "a" });
      expect(out).toMatchObject({ status: 400, errors: ["policies should be empty when using management tokens"] });
    },
  },
  {
    name: "role: unknown type is refused",
    builtin: "same",
    run: async () => {
      const out = await h.call("update", "role/m", { type: "admin", policies: "a" });
      expect(out).toMatchObject({ status: 400, errors: ['type must be "client" or "management"'] });
    },
  },
  {
    name: "role: read of a missing role is 404, delete of a missing role succeeds",
    builtin: "same",
    run: async () => {
      expect((await h.call("read", "role/none")).status).toBe(404);
      expect((await h.call("delete", "role/none")).status).toBe(204);
    },
  },
  {
    name: "role: write, read and list (policies as a comma list)",
    builtin: "same",
    run: async () => {
      expect((await h.call("list", "role/")).status).toBe(404);
      expect((await h.call("update", "role/dispatch", { policies: "dispatch,read", global: "true" })).status).toBe(204);
      await h.call("update", "role/admin", { type: "management" });
      expect((await h.call("read", "role/dispatch")).data).toMatchObject({
        type: "client",
        global: true,
        policies: ["dispatch", "read"],
      });
      expect((await h.call("list", "role/")).data).toEqual({ keys: ["admin", "dispatch"] });
    },
  },
  {
    name: "creds: unknown role is a 400 naming it",
    builtin: "same",
    run: async () => {
      await h.configure();
      expect(await h.call("read", "creds/nope")).toMatchObject({ status: 400, errors: ['role "nope" not found'] });
    },
  },
  {
    name: "creds: returns secret_id and accessor_id, keeps only the accessor (and secret_type) with the lease",
    builtin: "same",
    run: async () => {
      await h.configure();
      await h.call("update", "role/dispatch", { policies: "dispatch" });
      const issued = await h.creds("dispatch", "approle");
      expect(issued.status).toBe(200);
      expect(Object.keys(issued.data ?? {}).sort()).toEqual(["accessor_id", "secret_id"]);
      expect(issued.secret.internalData).toEqual({ accessor_id: issued.data?.accessor_id, secret_type: "token" });
      expect(issued.secret.leaseOptions.renewable).toBe(true);
      const token = h.nomad.token(issued.data?.accessor_id as string);
      expect(token).toMatchObject({ Type: "client", Policies: ["dispatch"], Global: false });
      expect(token?.Name).toMatch(/^vault-dispatch-approle-[0-9a-z]{10}$/);
    },
  },
  {
    name: "revoke deletes the token in Nomad",
    builtin: "same",
    run: async () => {
      await h.configure();
      await h.call("update", "role/admin", { type: "management" });
      const issued = await h.creds("admin");
      expect((await h.revoke("creds/admin", issued.secret)).status).toBe(204);
      expect(h.nomad.hasToken(issued.data?.accessor_id as string)).toBe(false);
    },
  },
  {
    name: "revoke fails (so Vault retries) when Nomad answers an error other than 'gone'",
    builtin: "same",
    run: async () => {
      await h.configure();
      await h.call("update", "role/admin", { type: "management" });
      const issued = await h.creds("admin");
      h.nomad.failNext({ method: "DELETE", path: "/v1/acl/token/:accessor", status: 403, body: "Permission denied", times: 10 });
      expect((await h.revoke("creds/admin", issued.secret)).status).toBe(500);
      expect(h.nomad.hasToken(issued.data?.accessor_id as string)).toBe(true);
    },
  },
  {
    name: "revoke of a token already deleted out of band succeeds",
    builtin: "differs: the builtin fails every retry and the lease becomes irrevocable",
    run: async () => {
      await h.configure();
      await h.call("update", "role/admin", { type: "management" });
      const issued = await h.creds("admin");
      h.nomad.removeToken(issued.data?.accessor_id as string);
      expect((await h.revoke("creds/admin", issued.secret)).status).toBe(204);
    },
  },
  {
    name: "tokens carry a Nomad-side expiry and the lease cannot outlive it",
    builtin: "differs: the builtin creates tokens without ExpirationTTL",
    run: async () => {
      await h.configure();
      await h.call("update", "config/lease", { ttl: "30m", max_ttl: "2h" });
      await h.call("update", "role/admin", { type: "management" });
      const issued = await h.creds("admin");
      const token = h.nomad.token(issued.data?.accessor_id as string);
      expect(token?.ExpirationTTL).toBe("2h0m0s");
      expect(issued.secret.leaseOptions.maxTtl).toBe(7200n * 1_000_000_000n);
      expect(issued.secret.leaseOptions.ttl).toBe(1800n * 1_000_000_000n);
    },
  },
  {
    name: "with no TTL on the role or config/lease, the mount's tuned TTLs apply, as tuned at each read",
    builtin: "differs: the builtin leaves the TTLs to the host and the token without expiry",
    run: async () => {
      await h.configure();
      await h.call("update", "role/admin", { type: "management" });
      const seconds = (value: number) => BigInt(value) * 1_000_000_000n;
      for (const [defaultTtl, maxTtl, expiration] of [[600, 3600, "1h0m0s"], [300, 1800, "30m0s"]] as const) {
        // `secrets tune` tells the plugin nothing: the next read must still see it.
        h.mount.system.defaultLeaseTtlSeconds = defaultTtl;
        h.mount.system.maxLeaseTtlSeconds = maxTtl;
        const issued = await h.creds("admin");
        expect(issued.secret.leaseOptions.ttl).toBe(seconds(defaultTtl));
        expect(issued.secret.leaseOptions.maxTtl).toBe(seconds(maxTtl));
        expect(h.nomad.token(issued.data?.accessor_id as string)?.ExpirationTTL).toBe(expiration);
      }
    },
  },
  {
    name: "a max_ttl beyond Nomad's 24 h limit is capped, with a warning",
    builtin: "differs: the builtin's lease would outlive any expiring token",
    run: async () => {
      await h.configure();
      await h.call("update", "role/admin", { type: "management", max_ttl: "72h" });
      const issued = await h.creds("admin");
      expect(issued.secret.leaseOptions.maxTtl).toBe(86_400n * 1_000_000_000n);
      expect(issued.warnings?.[0]).toMatch(/max_ttl of 72h exceeds the longest Nomad token expiration \(24h\)/);
    },
  },
  {
    name: "Nomad older than 1.4: no ExpirationTTL, and ACL roles are refused clearly",
    builtin: "same",
    run: async () => {
      const old = await startEngine({ nomad: { version: "1.3.16" } });
      try {
        await old.configure();
        await old.call("update", "role/admin", { type: "management" });
        const issued = await old.creds("admin");
        expect(old.nomad.token(issued.data?.accessor_id as string)?.ExpirationTime ?? null).toBeNull();
        await old.call("update", "role/r", { roles: "ops" });
        expect((await old.creds("r")).errors?.[0]).toBe('role "r" links Nomad ACL roles, which need Nomad 1.4 or newer');
      } finally {
        await old.close();
      }
    },
  },
  {
    name: "roles: a client role may link Nomad ACL roles instead of policies",
    builtin: "differs: the builtin has no ACL roles and demands policies",
    run: async () => {
      await h.configure();
      h.nomad.upsertPolicy("ops");
      h.nomad.createRole("operators", ["ops"]);
      expect((await h.call("update", "role/ops", { roles: "operators" })).status).toBe(204);
      const issued = await h.creds("ops");
      expect(h.nomad.token(issued.data?.accessor_id as string)?.Roles?.map((role) => role.Name)).toEqual(["operators"]);
    },
  },
  {
    name: "roles: a Nomad role that does not exist is a 400 with Nomad's reason",
    builtin: "differs: the builtin returns Nomad failures as 500",
    run: async () => {
      await h.configure();
      await h.call("update", "role/ops", { roles: "ghost" });
      const out = await h.creds("ops");
      expect(out.status).toBe(400);
      expect(out.errors?.[0]).toMatch(/cannot find role ghost/);
      expect(h.nomad.issuedTokens()).toHaveLength(0);
    },
  },
  {
    name: "client role with neither policies nor roles is refused",
    builtin: "differs: message mentions roles (builtin: 'policies cannot be empty when using client tokens')",
    run: async () => {
      expect(await h.call("update", "role/c", {})).toMatchObject({
        status: 400,
        errors: ["policies and roles cannot both be empty when using client tokens"],
      });
      expect((await h.call("read", "role/c")).status).toBe(404);
    },
  },
  {
    name: "per-role ttl/max_ttl override config/lease",
    builtin: "differs: the builtin has one TTL for the whole mount (Vault #7305)",
    run: async () => {
      await h.configure();
      await h.call("update", "config/lease", { ttl: "1h", max_ttl: "2h" });
      await h.call("update", "role/short", { policies: "p", ttl: "5m", max_ttl: "10m" });
      const issued = await h.creds("short");
      expect(issued.secret.leaseOptions.ttl).toBe(300n * 1_000_000_000n);
      expect(issued.secret.leaseOptions.maxTtl).toBe(600n * 1_000_000_000n);
    },
  },
  {
    name: "partial role update keeps the stored type",
    builtin: "differs: the builtin resets type to client and then fails or flips the role",
    run: async () => {
      await h.call("update", "role/admin", { type: "management" });
      expect((await h.call("update", "role/admin", { global: true })).status).toBe(204);
      expect((await h.call("read", "role/admin")).data).toMatchObject({ type: "management", global: true });
    },
  },
  {
    name: "partial config/access update keeps max_token_name_length",
    builtin: "differs: the builtin resets it to 0",
    run: async () => {
      await h.configure({ max_token_name_length: 64 });
      await h.call("update", "config/access", { address: h.nomad.url });
      expect((await h.call("read", "config/access")).data).toMatchObject({ max_token_name_length: 64 });
    },
  },
  {
    name: "a config/lease write replaces both values: an omitted field is 0 (Terraform sends {} when ttl/max_ttl are removed)",
    builtin: "same",
    run: async () => {
      await h.call("update", "config/lease", { ttl: "1h", max_ttl: "2h" });
      await h.call("update", "config/lease", { ttl: "30m" });
      expect((await h.call("read", "config/lease")).data).toEqual({ ttl: 1800, max_ttl: 0 });
      expect((await h.call("update", "config/lease", {})).status).toBe(204);
      expect((await h.call("read", "config/lease")).data).toEqual({ ttl: 0, max_ttl: 0 });
    },
  },
  {
    name: "out-of-range config/access numbers are a 400 naming the field, and nothing is stored",
    builtin: "differs: the builtin stores any max_token_name_length",
    run: async () => {
      for (const [input, pattern] of [
        [{ max_token_name_length: 300 }, /max_token_name_length/],
        [{ max_token_name_length: "many" }, /max_token_name_length/],
      ] as const) {
        const out = await h.call("update", "config/access", { token: "t", ...input });
        expect(out.status, JSON.stringify(input)).toBe(400);
        expect(out.errors?.[0]).toMatch(pattern);
      }
      expect((await h.call("read", "config/access")).status).toBe(404);
    },
  },
  {
    name: "an unusable address or PEM is stored with a warning naming the field; creds then fail naming config/access",
    builtin: "differs: the builtin stores the same values (Terraform writes address=foobar and reads it back) but gives no warning",
    run: async () => {
      await h.call("update", "role/admin", { type: "management" });
      for (const [input, field, readBack] of [
        [{ address: "foobar" }, /address/, "address"],
        [{ address: "https://127.0.0.1:1", client_cert: "-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----" }, /client_cert/, "client_cert"],
        [{ address: "https://127.0.0.1:1", ca_cert: "garbage" }, /ca_cert/, "ca_cert"],
      ] as const) {
        const out = await h.call("update", "config/access", { token: "t", ...input });
        expect(out.status, JSON.stringify(input)).toBe(200);
        expect(out.warnings?.join("\n")).toMatch(field);
        const read = await h.call("read", "config/access");
        expect(read.data?.[readBack]).toBe((input as Record<string, string>)[readBack]);
        expect(JSON.stringify(read)).not.toContain('"t"');
        const creds = await h.creds("admin");
        expect(creds.status).toBe(400);
        expect(creds.errors?.[0]).toMatch(/^config\/access is not usable: /);
        expect(creds.errors?.[0]).toMatch(field);
        expect(h.nomad.issuedTokens()).toHaveLength(0);
        await h.call("delete", "config/access");
      }
      // Fixed by a write: creds work again.
      expect((await h.configure()).status).toBe(204);
      expect((await h.creds("admin")).status).toBe(200);
    },
  },
  {
    name: "token names keep their unique suffix under a short max_token_name_length",
    builtin: "differs: the builtin cuts the whole name, losing its UnixNano suffix",
    run: async () => {
      await h.configure({ max_token_name_length: 24 });
      await h.call("update", "role/a-very-long-role-name", { type: "management" });
      const names = new Set<string>();
      for (let i = 0; i < 3; i += 1) {
        const issued = await h.creds("a-very-long-role-name", "userpass-alice");
        names.add(h.nomad.token(issued.data?.accessor_id as string)?.Name ?? "");
      }
      expect(names.size).toBe(3);
      for (const name of names) expect(name).toMatch(/^vault-a-very-[0-9a-z]{10}$/);
    },
  },
  {
    name: "config/rotate-root stores a new management token, deletes the old, returns only the accessor",
    builtin: "differs: the builtin has no rotate-root",
    run: async () => {
      await h.configure();
      const old = h.nomad.managementToken as string;
      const rotated = await h.call("update", "config/rotate-root", {});
      expect(rotated.status).toBe(200);
      expect(Object.keys(rotated.data ?? {})).toEqual(["accessor_id"]);
      const replacement = h.nomad.token(rotated.data?.accessor_id as string);
      expect(replacement?.Type).toBe("management");
      expect(replacement?.Name).toMatch(/^Vault Nomad secrets engine management token [0-9a-z]{10}$/);
      expect(h.nomad.tokens().some((token) => token.SecretID === old)).toBe(false);
      expect(JSON.stringify(rotated)).not.toContain(replacement?.SecretID);
      await h.call("update", "role/admin", { type: "management" });
      expect((await h.creds("admin")).status).toBe(200);
    },
  },
  {
    name: "renew extends the lease and echoes the accessor and secret_type",
    builtin: "same",
    run: async () => {
      await h.configure();
      await h.call("update", "config/lease", { ttl: "10m", max_ttl: "1h" });
      await h.call("update", "role/admin", { type: "management" });
      const issued = await h.creds("admin");
      const renewed = await h.renew("creds/admin", issued.secret, 900);
      expect(renewed.status).toBe(200);
      expect(renewed.response?.secret?.internalData).toEqual(issued.secret.internalData);
      expect(renewed.response?.secret?.leaseOptions.ttl).toBe(900n * 1_000_000_000n);
    },
  },
  {
    name: "renew of a lease whose token is gone fails clearly",
    builtin: "differs: the builtin renews without asking Nomad",
    run: async () => {
      await h.configure();
      await h.call("update", "role/admin", { type: "management" });
      const issued = await h.creds("admin");
      h.nomad.removeToken(issued.data?.accessor_id as string);
      const renewed = await h.renew("creds/admin", issued.secret, 60);
      expect(renewed.status).toBe(500);
      expect(renewed.errors?.[0]).toMatch(/no longer exists/);
    },
  },
  {
    name: "creds with no management token anywhere is a 400 that says what to configure",
    builtin: "differs: the builtin calls 127.0.0.1:4646 without a token and answers 500",
    run: async () => {
      await h.call("update", "role/admin", { type: "management" });
      const out = await h.creds("admin");
      expect(out.status).toBe(400);
      expect(out.errors?.[0]).toMatch(/^Nomad access is not configured: write a management token to config\/access/);
    },
  },
  {
    name: "a region Nomad does not know is a 400 naming config/access, and a malformed one is refused at write",
    builtin: "differs: the builtin has no region setting",
    run: async () => {
      expect((await h.configure({ region: "mars base" })).errors?.[0]).toMatch(/^region must be a Nomad region name/);
      await h.configure({ region: "mars" });
      await h.call("update", "role/admin", { type: "management" });
      const out = await h.creds("admin");
      expect(out.status).toBe(400);
      expect(out.errors?.[0]).toMatch(/Nomad does not know the region "mars" set in config\/access/);
    },
  },
  {
    name: "revoke of a lease without an accessor fails with the builtin's message",
    builtin: "same",
    run: async () => {
      await h.configure();
      const out = await h.revoke("creds/admin", {
        leaseOptions: { ttl: 0n, maxTtl: 0n, renewable: true, increment: 0n, issueTime: null },
        internalData: { secret_type: "token" },
        leaseId: "x",
      });
      expect(out.status).toBe(500);
      expect(out.errors?.[0]).toMatch(/accessor_id is missing on the lease/);
    },
  },
];

describe("parity with Vault's builtin Nomad engine", () => {
  it.each(cases.map((testCase) => [testCase.name, testCase.builtin, testCase] as const))("%s (builtin: %s)", async (_n, _b, testCase) => {
    await testCase.run();
  });
});

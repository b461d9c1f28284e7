// An engine mounted over in-memory storage, talking HTTP to the Nomad fake:
// the logical.TestBackend analogue for the Nomad engine.
import { setupTestBackend, type TestBackend, type FakeSystemViewOptions } from "../../src/framework/testing.ts";
import type { Operation, Request, Secret } from "../../src/framework/logical.ts";
import { FrameworkBackend } from "../../src/framework/backend.ts";
import { NomadEngine } from "../../src/engine/nomad/backend.ts";
import { startNomadFake, type NomadFake, type NomadFakeOptions } from "./nomad-fake.ts";
import { asHttp, type HttpOutcome } from "./vault-http.ts";

export interface EngineHarness {
  nomad: NomadFake;
  engine: NomadEngine;
  mount: TestBackend<FrameworkBackend>;
  call(operation: Operation, path: string, data?: Record<string, unknown> | null, extra?: Partial<Request>): Promise<HttpOutcome>;
  /** Writes config/access pointing at the fake with its management token. */
  configure(extra?: Record<string, unknown>): Promise<HttpOutcome>;
  /** Issues creds and returns the outcome plus the lease secret Vault would store. */
  creds(role: string, displayName?: string): Promise<HttpOutcome & { secret: Secret }>;
  renew(path: string, secret: Secret, incrementSeconds?: number): Promise<HttpOutcome>;
  revoke(path: string, secret: Secret): Promise<HttpOutcome>;
  close(): Promise<void>;
}

export async function startEngine(
  options: {
    nomad?: NomadFakeOptions;
    system?: FakeSystemViewOptions;
    /** The Vault process environment; a function gets the fake, e.g. to set NOMAD_ADDR to it. */
    env?: NodeJS.ProcessEnv | ((nomad: NomadFake) => NodeJS.ProcessEnv);
  } = {},
): Promise<EngineHarness> {
  const nomad = await startNomadFake(options.nomad);
  const env = typeof options.env === "function" ? options.env(nomad) : (options.env ?? {});
  const engine = new NomadEngine({ env });
  const mount = await setupTestBackend(engine.backend, options.system);
  const call: EngineHarness["call"] = (operation, path, data = null, extra = {}) =>
    asHttp(operation, () => mount.request({ operation, path, data, ...extra }));
  return {
    nomad,
    engine,
    mount,
    call,
    configure: (extra = {}) =>
      call("update", "config/access", { address: nomad.url, token: nomad.managementToken, ...extra }),
    async creds(role, displayName = "token") {
      const outcome = await call("read", `creds/${role}`, null, { displayName });
      const secret = outcome.response?.secret;
      if (outcome.status !== 200 || secret === undefined) return { ...outcome, secret: undefined as unknown as Secret };
      // Vault stores the secret with its lease id and sends it back on renew/revoke.
      return { ...outcome, secret: { ...secret, leaseId: `nomad/creds/${role}/lease` } };
    },
    renew: (path, secret, incrementSeconds = 0) =>
      call("renew", path, null, {
        secret: { ...secret, leaseOptions: { ...secret.leaseOptions, increment: BigInt(incrementSeconds) * 1_000_000_000n } },
      }),
    revoke: (path, secret) => call("revoke", path, null, { secret }),
    async close() {
      await mount.backend.cleanup();
      await nomad.stop();
    },
  };
}

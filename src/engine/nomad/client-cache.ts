// One Nomad client per mount, built on first use from the stored config/access
// over the Vault process environment (the builtin's fallback), and rebuilt after
// config/access is written or deleted, or invalidated by replication.
import {
  mergeNomadConfig,
  NomadClient,
  nomadConfigFromEnv,
  supportsRolesAndExpiration,
  type NomadClientConfig,
} from "../../nomad-client/index.ts";
import type { Storage } from "../../framework/logical.ts";
import { ErrorCode, PluginError } from "../../shared/errors.ts";
import type { Logger } from "../../shared/log.ts";
import { processMetrics } from "../../shared/metrics.ts";
import { readAccessConfig, type AccessConfig } from "./path-config-access.ts";

export interface MountClient {
  client: NomadClient;
  access: AccessConfig | null;
  /** A management token is known (stored, or NOMAD_TOKEN); without one no token can be minted. */
  hasToken: boolean;
}

export class NomadClientCache {
  private current: Promise<MountClient> | null = null;
  private features: Promise<boolean> | null = null;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly logger: () => Logger,
  ) {}

  /** The mount's client; built once, shared by concurrent requests. */
  get(storage: Storage): Promise<MountClient> {
    if (this.current === null) {
      const building = this.build(storage);
      this.current = building;
      building.catch(() => {
        if (this.current === building) this.current = null;
      });
    }
    return this.current;
  }

  /** A client for an explicit configuration (bootstrap, rotate-root), not cached. */
  clientFor(access: AccessConfig): NomadClient {
    return new NomadClient(this.clientConfig(access));
  }

  /**
   * Whether the Nomad server supports token ExpirationTTL and ACL roles (≥ 1.4).
   * Asked once per client; when the agent cannot tell, we assume a current Nomad
   * (an older one ignores the unknown ExpirationTTL field).
   */
  supportsExpirationAndRoles(storage: Storage): Promise<boolean> {
    // Cached before any await, so concurrent first requests ask Nomad once.
    this.features ??= this.get(storage)
      .then(({ client }) => client.agentSelf())
      .then(
        (self) => supportsRolesAndExpiration(self.version),
        (error: unknown) => {
          this.logger().debug("could not read the Nomad version; assuming Nomad 1.4 or newer", { error: String(error) });
          return true;
        },
      );
    return this.features;
  }

  /**
   * Drops the cached client. The old one keeps serving calls already in flight:
   * it closes in the background after they finish (a config write never waits
   * on them). Pass `graceMs` to wait at most that long and abort what is left.
   */
  async reset(graceMs?: number): Promise<void> {
    const previous = this.current;
    this.current = null;
    this.features = null;
    if (previous === null) return;
    const closing = previous.then(
      (built) => built.client.close(graceMs),
      () => undefined,
    );
    if (graceMs !== undefined) await closing;
  }

  private async build(storage: Storage): Promise<MountClient> {
    const access = await readAccessConfig(storage);
    const config = this.clientConfig(access);
    let client: NomadClient;
    try {
      client = new NomadClient(config);
    } catch (error) {
      if (!PluginError.is(error, ErrorCode.Config)) throw error;
      // What the write accepted with a warning (an address such as "foobar", a
      // key without its certificate) surfaces here: say which setting to fix.
      throw new PluginError(ErrorCode.BadRequest, `config/access is not usable: ${error.message}; write config/access again with a working value`, {
        cause: error,
      });
    }
    return { client, access, hasToken: (config.token ?? "") !== "" };
  }

  private clientConfig(access: AccessConfig | null): NomadClientConfig {
    const stored: NomadClientConfig = access === null ? {} : {
      address: access.address,
      token: access.token,
      region: access.region,
      caCert: access.ca_cert,
      clientCert: access.client_cert,
      clientKey: access.client_key,
    };
    return {
      ...mergeNomadConfig(nomadConfigFromEnv(this.env), stored),
      logger: this.logger(),
      onCall: (call) => processMetrics.recordNomadCall(call.durationMs, call.failed),
    };
  }
}

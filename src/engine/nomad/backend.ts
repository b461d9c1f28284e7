// The Nomad secrets engine: the paths of Vault's builtin engine plus
// config/rotate-root, one `token` secret, and one cached Nomad client per mount.
import { FrameworkBackend } from "../../framework/backend.ts";
import { BackendType, type BackendFactory } from "../../framework/logical.ts";
import { Logger } from "../../shared/log.ts";
import { NomadClientCache } from "./client-cache.ts";
import { CONFIG_ACCESS_KEY, pathConfigAccess } from "./path-config-access.ts";
import { CONFIG_LEASE_KEY, pathConfigLease } from "./path-config-lease.ts";
import { pathConfigRotateRoot } from "./path-config-rotate-root.ts";
import { pathCredsCreate } from "./path-creds-create.ts";
import { pathListRoles, pathRoles, ROLE_PREFIX } from "./path-roles.ts";
import { secretToken } from "./secret-token.ts";

/** Inside the host's 2 s window between Shutdown and kill. */
const CLEANUP_GRACE_MS = 500;

export interface NomadEngineOptions {
  /** The Vault process environment (NOMAD_ADDR, NOMAD_TOKEN… fallbacks). */
  env: NodeJS.ProcessEnv;
}

export class NomadEngine {
  readonly clients: NomadClientCache;
  readonly secretToken: ReturnType<typeof secretToken>;
  readonly backend: FrameworkBackend;
  private logger: Logger = new Logger("off", () => undefined);

  constructor(options: NomadEngineOptions) {
    this.clients = new NomadClientCache(options.env, () => this.logger);
    this.secretToken = secretToken(this.clients);
    this.backend = new FrameworkBackend({
      help: BACKEND_HELP,
      backendType: BackendType.Logical,
      paths: [
        pathConfigAccess(this),
        pathConfigLease(),
        pathConfigRotateRoot(this),
        pathListRoles(),
        pathRoles(),
        pathCredsCreate(this),
      ],
      secrets: [this.secretToken],
      specialPaths: { sealWrapStorage: [CONFIG_ACCESS_KEY] },
      // What creds/<role> and config reads read on every request; lists are not cached.
      storageCache: { prefixes: [CONFIG_ACCESS_KEY, CONFIG_LEASE_KEY, ROLE_PREFIX] },
      setup: async (config) => {
        this.logger = config.logger;
      },
      invalidate: async (key) => {
        if (key === CONFIG_ACCESS_KEY) await this.clients.reset();
      },
      clean: async () => {
        // Unmount, reload or seal: in-flight Nomad calls get a moment, then are aborted.
        await this.clients.reset(CLEANUP_GRACE_MS);
      },
    });
  }
}

export function nomadBackend(options: NomadEngineOptions): FrameworkBackend {
  return new NomadEngine(options).backend;
}

export const nomadBackendFactory: BackendFactory = () => nomadBackend({ env: process.env });

const BACKEND_HELP = `The Nomad secrets engine dynamically generates Nomad ACL tokens based on
roles. Configure the Nomad address and a management token at config/access, then
create roles that name Nomad ACL policies and/or ACL roles, and read creds/<role>
to get a token. Each token carries a lease; revoking the lease deletes the token.

After mounting this secrets engine, configure access with the "config/access"
path and lease defaults with "config/lease".`;

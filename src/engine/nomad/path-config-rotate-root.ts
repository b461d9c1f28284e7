// config/rotate-root (not in the builtin): replaces the stored management token
// with a new one minted by the current one, then deletes the old one. The new
// token is never returned; its accessor is, so operators can audit it in Nomad.
import { definePath, type HandlerEnv } from "../../framework/path.ts";
import { errorResponse } from "../../framework/response.ts";
import type { Request, Response } from "../../framework/logical.ts";
import type { NomadEngine } from "./backend.ts";
import { readAccessConfig, writeAccessConfig } from "./path-config-access.ts";
import { customAlphabet } from "nanoid";
import { WRITES_REPLICATED_STORAGE } from "../../framework/replication.ts";

export function pathConfigRotateRoot(engine: NomadEngine) {
  return definePath({
    pattern: "config/rotate-root",
    operations: {
      update: {
        handler: (request, _data, env) => pathRotateRootUpdate(engine, request, env),
        responses: { 200: { description: "OK" } },
        ...WRITES_REPLICATED_STORAGE,
      },
    },
    displayAttrs: { operationPrefix: "nomad", operationVerb: "rotate", operationSuffix: "root-credentials" },
    helpSynopsis: ROTATE_ROOT_HELP_SYNOPSIS,
    helpDescription: ROTATE_ROOT_HELP_DESCRIPTION,
  });
}

async function pathRotateRootUpdate(engine: NomadEngine, request: Request, env: HandlerEnv): Promise<Response | null> {
  const access = await readAccessConfig(request.storage);
  if (access === null || access.token === "") {
    return errorResponse("no management token is stored in config/access: write config/access first");
  }
  const current = engine.clients.clientFor(access);
  let replacement;
  let oldAccessor: string;
  try {
    const self = await current.selfToken();
    if (self.Type !== "management") return errorResponse("the stored token is not a management token; it cannot be rotated");
    oldAccessor = self.AccessorID;
    replacement = await current.createToken({
      name: rotatedTokenName(),
      type: "management",
      global: self.Global,
    });
  } finally {
    await current.close();
  }

  await writeAccessConfig(request.storage, { ...access, token: replacement.SecretID });
  await engine.clients.reset();
  env.logger.info("rotated the Nomad management token", { accessor_id: replacement.AccessorID });

  const warnings: string[] = [];
  const { client } = await engine.clients.get(request.storage);
  try {
    await client.deleteToken(oldAccessor);
  } catch (error) {
    warnings.push(
      `the new management token is stored, but deleting the old one (accessor ${oldAccessor}) failed: ${(error as Error).message}; delete it in Nomad by hand`,
    );
  }
  return { data: { accessor_id: replacement.AccessorID }, ...(warnings.length > 0 ? { warnings } : {}) };
}

const rotationSuffix = customAlphabet("0123456789abcdefghijklmnopqrstuvwxyz", 10);

/** Not `vault-…`: that prefix marks leased tokens, which revoke and cleanup look for. */
export function rotatedTokenName(): string {
  return `Vault Nomad secrets engine management token ${rotationSuffix()}`;
}

const ROTATE_ROOT_HELP_SYNOPSIS = "Rotate the Nomad management token the engine uses.";
const ROTATE_ROOT_HELP_DESCRIPTION = `Creates a new Nomad management token with the stored one, stores the new
token in config/access and deletes the old token in Nomad. The new token is never
returned; its accessor is. After a rotation only Vault knows the token.`;

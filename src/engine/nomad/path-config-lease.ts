// config/lease: the mount-wide default TTLs for issued tokens. Parity with the
// builtin's fields, read shape and help text. Beyond it: an omitted field keeps
// its stored value (the builtin resets it to 0), and max_ttl < ttl is refused.
import * as z from "../../shared/schema.ts";
import { definePath } from "../../framework/path.ts";
import type { FieldData } from "../../framework/field-data.ts";
import { TypeDurationSecond } from "../../framework/field-types.ts";
import { errorResponse } from "../../framework/response.ts";
import { NANOS_PER_SECOND as FRAMEWORK_NANOS_PER_SECOND, type Request, type Response, type Storage } from "../../framework/logical.ts";
import { getJSON, putJSON } from "../../framework/storage.ts";
import { WRITES_REPLICATED_STORAGE } from "../../framework/replication.ts";

export const CONFIG_LEASE_KEY = "config/lease";

const leaseFields = {
  ttl: {
    type: TypeDurationSecond,
    description: "Duration before which the issued token needs renewal",
  },
  max_ttl: {
    type: TypeDurationSecond,
    description: "Duration after which the issued token should not be allowed to be renewed",
  },
} as const;

export function pathConfigLease() {
  return definePath({
    pattern: "config/lease",
    fields: leaseFields,
    operations: {
      read: (request) => pathLeaseRead(request),
      update: {
        handler: (request, data) => pathLeaseUpdate(request, data),
        // The builtin's operation id (nomad-configure-lease).
        displayAttrs: { operationVerb: "configure", operationSuffix: "lease" },
        ...WRITES_REPLICATED_STORAGE,
      },
      delete: { handler: (request) => pathLeaseDelete(request), ...WRITES_REPLICATED_STORAGE },
    },
    displayAttrs: { operationPrefix: "nomad", operationSuffix: "lease-configuration" },
    helpSynopsis: CONFIG_LEASE_HELP_SYNOPSIS,
    helpDescription: CONFIG_LEASE_HELP_DESCRIPTION,
  });
}

async function pathLeaseRead(request: Request): Promise<Response | null> {
  const lease = await readLeaseConfig(request.storage);
  if (lease === null) return null;
  return { data: { ttl: lease.ttl, max_ttl: lease.max_ttl } };
}

/**
 * Replaces both values, as the builtin does: an omitted field is 0. The
 * Terraform provider's vault_nomad_secret_backend relies on it (removing
 * ttl/max_ttl from its config sends `{}` and expects 0/0 back).
 */
async function pathLeaseUpdate(request: Request, data: FieldData<typeof leaseFields>): Promise<Response | null> {
  const lease: LeaseConfig = { ttl: data.get("ttl"), max_ttl: data.get("max_ttl") };
  if (lease.ttl > 0 && lease.max_ttl > 0 && lease.max_ttl < lease.ttl) {
    return errorResponse(`max_ttl (${lease.max_ttl}s) must not be shorter than ttl (${lease.ttl}s)`);
  }
  await writeLeaseConfig(request.storage, lease);
  return null;
}

async function pathLeaseDelete(request: Request): Promise<Response | null> {
  await request.storage.delete(CONFIG_LEASE_KEY);
  return null;
}

const storedLeaseSchema = z.object({
  ttl: z._default(z.number().check(z.nonnegative()), 0),
  max_ttl: z._default(z.number().check(z.nonnegative()), 0),
});

/** config/lease in seconds, as the API reads and writes it. */
export interface LeaseConfig {
  ttl: number;
  max_ttl: number;
}

const NANOS_PER_SECOND = Number(FRAMEWORK_NANOS_PER_SECOND);

/**
 * Stored as the builtin stores it: Go time.Duration, in nanoseconds. A mount
 * moved between the builtin and this plugin with `secrets tune -plugin-version`
 * keeps its lease settings either way.
 */
export function writeLeaseConfig(storage: Storage, lease: LeaseConfig): Promise<void> {
  return putJSON(storage, CONFIG_LEASE_KEY, { ttl: lease.ttl * NANOS_PER_SECOND, max_ttl: lease.max_ttl * NANOS_PER_SECOND });
}

/**
 * Builds before this one stored whole seconds. A builtin value is a whole
 * number of seconds in nanoseconds, so any nonzero value is at least 1e9, and
 * 1e9 seconds (31 years) is no lease anyone stored: below it, the value is seconds.
 */
function storedToSeconds(value: number): number {
  return value >= NANOS_PER_SECOND ? Math.round(value / NANOS_PER_SECOND) : Math.round(value);
}

export async function readLeaseConfig(storage: Storage): Promise<LeaseConfig | null> {
  const stored = await getJSON(storage, CONFIG_LEASE_KEY, storedLeaseSchema);
  if (stored === null) return null;
  return { ttl: storedToSeconds(stored.ttl), max_ttl: storedToSeconds(stored.max_ttl) };
}

const CONFIG_LEASE_HELP_SYNOPSIS = "Configure the lease parameters for generated tokens";
const CONFIG_LEASE_HELP_DESCRIPTION = `Sets the ttl and max_ttl values for the secrets to be issued by this backend.
Both ttl and max_ttl take in an integer number of seconds as input as well as
inputs like "1h". A role's own ttl and max_ttl take precedence over these.`;

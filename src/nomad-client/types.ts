// Nomad's JSON objects, with field names exactly as Nomad writes them (Go field
// names, reference nomad.md §2.3). Schemas accept what Nomad really sends — Go nil
// slices arrive as null, older servers omit Roles/ExpirationTTL — and normalise it.
import * as z from "../shared/schema.ts";
import type { Schema } from "../shared/schema.ts";

export type NomadTokenType = "client" | "management";

export interface NomadRoleLink {
  ID: string;
  Name: string;
}

export interface NomadAclToken {
  AccessorID: string;
  SecretID: string;
  Name: string;
  Type: string;
  Policies: string[];
  Roles: NomadRoleLink[];
  Global: boolean;
  Hash: string;
  CreateTime: string;
  /** RFC 3339 time, or null when the token never expires. */
  ExpirationTime: string | null;
  /** Go duration text such as "1h0m0s"; "" when the token has no TTL. */
  ExpirationTTL: string;
  CreateIndex: number;
  ModifyIndex: number;
}

/** What GET /v1/acl/tokens lists: a token without its secret. */
export type NomadAclTokenStub = Omit<NomadAclToken, "SecretID">;

export interface NomadAclRole {
  ID: string;
  Name: string;
  Description: string;
  Policies: { Name: string }[];
  Hash: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface NomadAgentSelf {
  /** Version of the agent answering, e.g. "1.6.3" (no prerelease suffix). */
  version: string | undefined;
  /** Full version text, e.g. "1.7.0-beta.1+ent". */
  fullVersion: string | undefined;
  region: string | undefined;
  datacenter: string | undefined;
}

/** `null` and `undefined` read as `fallback`: Go's nil slices and omitted members arrive that way. */
function orDefault<S extends z.ZodMiniType, T>(schema: S, fallback: T) {
  return z.pipe(
    z.nullish(schema),
    z.transform((value: z.output<S> | null | undefined): z.output<S> | T => value ?? fallback),
  );
}

const nullableList = <T extends Schema<unknown>>(item: T) => orDefault(z.array(item), []);
const nullableString = orDefault(z.string(), "");
const nonEmptyString = z.string().check(z.minLength(1));

const roleLinkSchema = z.object({
  ID: nullableString,
  Name: nullableString,
});

const tokenFields = {
  AccessorID: nonEmptyString,
  Name: nullableString,
  Type: z.string(),
  Policies: nullableList(z.string()),
  Roles: nullableList(roleLinkSchema),
  Global: orDefault(z.boolean(), false),
  Hash: nullableString,
  CreateTime: nullableString,
  ExpirationTime: orDefault(z.string(), null),
  ExpirationTTL: z.pipe(
    z.nullish(z.union([z.string(), z.number()])),
    z.transform((value) => (typeof value === "number" ? (value === 0 ? "" : `${value}ns`) : (value ?? ""))),
  ),
  CreateIndex: z.number(),
  ModifyIndex: z.number(),
};

export const tokenSchema: Schema<NomadAclToken> = z.object({ ...tokenFields, SecretID: nonEmptyString });
export const tokenStubSchema: Schema<NomadAclTokenStub> = z.object(tokenFields);
export const tokenStubListSchema = nullableList(tokenStubSchema);

export const roleSchema: Schema<NomadAclRole> = z.object({
  ID: nonEmptyString,
  Name: z.string(),
  Description: nullableString,
  Policies: nullableList(z.object({ Name: z.string() })),
  Hash: nullableString,
  CreateIndex: z.number(),
  ModifyIndex: z.number(),
});

const versionInfoSchema = z.object({
  Version: z.nullish(z.string()),
  VersionPrerelease: z.nullish(z.string()),
  VersionMetadata: z.nullish(z.string()),
});

/** Only the parts of /v1/agent/self the engine uses; the rest is large and agent-specific. */
export const agentSelfSchema = z.pipe(
  z.object({
    config: z.nullish(
      z.object({
        // Current Nomad nests a VersionInfo object; very old agents wrote a string.
        Version: z.nullish(z.union([versionInfoSchema, z.string()])),
        Region: z.nullish(z.string()),
        Datacenter: z.nullish(z.string()),
      }),
    ),
    member: z.nullish(z.object({ Tags: z.nullish(z.record(z.string(), z.string())) })),
  }),
  z.transform((raw): NomadAgentSelf => {
    const info = raw.config?.Version;
    let fullVersion: string | undefined;
    if (typeof info === "string") {
      fullVersion = info;
    } else if (info?.Version) {
      fullVersion = info.Version;
      if (info.VersionPrerelease) fullVersion += `-${info.VersionPrerelease}`;
      if (info.VersionMetadata) fullVersion += `+${info.VersionMetadata}`;
    } else {
      // Servers gossip their build in the serf tags.
      fullVersion = raw.member?.Tags?.build ?? undefined;
    }
    return {
      version: fullVersion === undefined ? undefined : coreVersion(fullVersion),
      fullVersion,
      region: raw.config?.Region ?? undefined,
      datacenter: raw.config?.Datacenter ?? undefined,
    };
  }),
);

/** "1.7.0-beta.1+ent" → "1.7.0"; a leading "v" is dropped. */
export function coreVersion(version: string): string | undefined {
  const match = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(version.trim());
  if (match === null) return undefined;
  return `${match[1]}.${match[2]}.${match[3] ?? "0"}`;
}

/** Nomad 1.4.0 added ACL roles and token expiration (GH-14320). */
export const NOMAD_ROLES_AND_EXPIRATION_MIN_VERSION = "1.4.0";

/**
 * True when `version` is at least `minimum`, comparing major.minor.patch only.
 * Unknown versions answer false so callers fall back to the older behaviour.
 */
export function nomadVersionAtLeast(version: string | undefined, minimum: string): boolean {
  const have = version === undefined ? undefined : coreVersion(version);
  const want = coreVersion(minimum);
  if (have === undefined || want === undefined) return false;
  const left = have.split(".").map(Number);
  const right = want.split(".").map(Number);
  for (let index = 0; index < 3; index++) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) return difference > 0;
  }
  return true;
}

export function supportsRolesAndExpiration(version: string | undefined): boolean {
  return nomadVersionAtLeast(version, NOMAD_ROLES_AND_EXPIRATION_MIN_VERSION);
}

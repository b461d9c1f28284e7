// role/ and role/<name>: which Nomad policies and ACL roles a token gets.
// Parity with the builtin: policies, global, type (client|management) and its
// validation messages, list as keys, delete always succeeds.
// Beyond it: Nomad ACL roles (`roles`), per-role ttl/max_ttl (Vault #7305), and
// partial updates that keep every stored value (the builtin resets `type`).
import * as z from "../../shared/schema.ts";
import { definePath, genericNameRegex } from "../../framework/path.ts";
import type { FieldData } from "../../framework/field-data.ts";
import { TypeBool, TypeCommaStringSlice, TypeDurationSecond, TypeString } from "../../framework/field-types.ts";
import { errorResponse, listResponse } from "../../framework/response.ts";
import type { Request, Response, Storage } from "../../framework/logical.ts";
import { getJSON, putJSON } from "../../framework/storage.ts";
import { WRITES_REPLICATED_STORAGE } from "../../framework/replication.ts";

export const ROLE_PREFIX = "role/";
export const TOKEN_TYPES = ["client", "management"] as const;

const roleFields = {
  name: {
    type: TypeString,
    description: "Name of the role",
    required: true,
  },
  policies: {
    type: TypeCommaStringSlice,
    description: "Comma-separated string or list of policies as previously created in Nomad. Required for 'client' token.",
  },
  roles: {
    type: TypeCommaStringSlice,
    description:
      "Comma-separated string or list of Nomad ACL role names (Nomad 1.4+). A 'client' token needs policies, roles or both.",
  },
  global: {
    type: TypeBool,
    description: "Boolean value describing if the token should be global or not. Defaults to false.",
  },
  type: {
    type: TypeString,
    default: "client",
    allowedValues: TOKEN_TYPES,
    description: `Which type of token to create: 'client' or 'management'. If a 'management' token, the "policies" parameter is not required. Defaults to 'client'.`,
  },
  ttl: {
    type: TypeDurationSecond,
    description: "Default lease TTL for tokens of this role; overrides config/lease.",
  },
  max_ttl: {
    type: TypeDurationSecond,
    description: "Maximum lease TTL for tokens of this role; overrides config/lease.",
  },
} as const;

type RoleData = FieldData<typeof roleFields>;

export function pathListRoles() {
  return definePath({
    pattern: "role/?",
    operations: { list: (request) => pathRoleList(request) },
    displayAttrs: { operationPrefix: "nomad", operationSuffix: "roles" },
    helpSynopsis: ROLE_LIST_HELP_SYNOPSIS,
    helpDescription: ROLE_LIST_HELP_DESCRIPTION,
  });
}

export function pathRoles() {
  return definePath({
    pattern: `role/${genericNameRegex("name")}`,
    fields: roleFields,
    existenceCheck: async (request, data) => (await readRole(request.storage, data.get("name"))) !== null,
    operations: {
      read: (request, data) => pathRolesRead(request, data),
      create: { handler: (request, data) => pathRolesWrite(request, data), ...WRITES_REPLICATED_STORAGE },
      update: { handler: (request, data) => pathRolesWrite(request, data), ...WRITES_REPLICATED_STORAGE },
      delete: { handler: (request, data) => pathRolesDelete(request, data), ...WRITES_REPLICATED_STORAGE },
    },
    displayAttrs: { operationPrefix: "nomad", operationSuffix: "role" },
    helpSynopsis: ROLE_HELP_SYNOPSIS,
    helpDescription: ROLE_HELP_DESCRIPTION,
  });
}

async function pathRoleList(request: Request): Promise<Response | null> {
  return listResponse(await request.storage.list(ROLE_PREFIX));
}

async function pathRolesRead(request: Request, data: RoleData): Promise<Response | null> {
  const role = await readRole(request.storage, data.get("name"));
  if (role === null) return null;
  return {
    data: {
      type: role.type,
      global: role.global,
      policies: role.policies,
      roles: role.roles,
      ttl: role.ttl,
      max_ttl: role.max_ttl,
    },
  };
}

async function pathRolesWrite(request: Request, data: RoleData): Promise<Response | null> {
  const name = data.get("name");
  const role: RoleEntry = (await readRole(request.storage, name)) ?? {
    type: "client",
    global: false,
    policies: [],
    roles: [],
    ttl: 0,
    max_ttl: 0,
  };
  const type = data.getOk("type");
  if (type.ok) role.type = type.value as RoleEntry["type"];
  for (const field of ["policies", "roles"] as const) {
    const supplied = data.getOk(field);
    if (supplied.ok) role[field] = supplied.value.filter((entry) => entry !== "");
  }
  const global = data.getOk("global");
  if (global.ok) role.global = global.value;
  for (const field of ["ttl", "max_ttl"] as const) {
    const supplied = data.getOk(field);
    if (supplied.ok) role[field] = supplied.value;
  }

  const problem = validateRole(role);
  if (problem !== null) return errorResponse(problem);
  await putJSON(request.storage, `${ROLE_PREFIX}${name}`, role);
  return null;
}

async function pathRolesDelete(request: Request, data: RoleData): Promise<Response | null> {
  await request.storage.delete(`${ROLE_PREFIX}${data.get("name")}`);
  return null;
}

export function validateRole(role: RoleEntry): string | null {
  switch (role.type) {
    case "client":
      if (role.policies.length === 0 && role.roles.length === 0) {
        return "policies and roles cannot both be empty when using client tokens";
      }
      break;
    case "management":
      if (role.policies.length > 0) return "policies should be empty when using management tokens";
      if (role.roles.length > 0) return "roles should be empty when using management tokens";
      break;
    default:
      return 'type must be "client" or "management"';
  }
  if (role.ttl > 0 && role.max_ttl > 0 && role.max_ttl < role.ttl) {
    return `max_ttl (${role.max_ttl}s) must not be shorter than ttl (${role.ttl}s)`;
  }
  return null;
}

const roleEntrySchema = z.object({
  // Kept as a plain string so a bad stored value fails validation, not parsing.
  type: z._default(z.string(), "client"),
  global: z._default(z.boolean(), false),
  policies: z._default(z.array(z.string()), []),
  roles: z._default(z.array(z.string()), []),
  ttl: z._default(z.int().check(z.nonnegative()), 0),
  max_ttl: z._default(z.int().check(z.nonnegative()), 0),
});

/** Stored under role/<name>; TTLs in seconds. */
export type RoleEntry = z.infer<typeof roleEntrySchema>;

export function readRole(storage: Storage, name: string): Promise<RoleEntry | null> {
  return getJSON(storage, `${ROLE_PREFIX}${name}`, roleEntrySchema);
}

const ROLE_LIST_HELP_SYNOPSIS = "List the existing roles in this backend";
const ROLE_LIST_HELP_DESCRIPTION = "Roles will be listed by the role name.";
const ROLE_HELP_SYNOPSIS = "Manage the roles that can be created with this backend.";
const ROLE_HELP_DESCRIPTION = `This path lets you manage the roles that can be created with this backend.

A role names the Nomad ACL policies and/or Nomad ACL roles (Nomad 1.4+) that
generated client tokens carry, or asks for management tokens. A role may set its
own ttl and max_ttl, which take precedence over config/lease. Fields that are not
supplied on an update keep their stored values.`;

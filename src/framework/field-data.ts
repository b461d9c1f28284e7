// Field schemas and FieldData: typed, Vault-compatible access to a request's
// parameters (body or query values merged with path captures).
import { ErrorCode, PluginError } from "../shared/errors.ts";
import { REDACTED } from "../shared/redact.ts";
import { goQuote, goSprintV } from "./go-format.ts";
import { type FieldType, redactedReason } from "./field-types.ts";

/** UI and documentation hints (Vault's DisplayAttributes), emitted in OpenAPI. */
export interface DisplayAttributes {
  name?: string;
  description?: string;
  value?: unknown;
  sensitive?: boolean;
  navigation?: boolean;
  itemType?: string;
  group?: string;
  action?: string;
  /** OpenAPI operation id parts (prefix-verb-suffix); not emitted themselves. */
  operationPrefix?: string;
  operationVerb?: string;
  /** `|`-separated when the pattern expands to several OpenAPI paths. */
  operationSuffix?: string;
  editType?: string;
}

export interface FieldSchema<T = unknown> {
  type: FieldType<T>;
  description?: string;
  /**
   * Value used when the field is absent. It is coerced through `type` when the
   * path is defined (so `"1h"` is a valid duration default) and emitted as
   * written in OpenAPI.
   */
  default?: unknown;
  /** OpenAPI only: the field must be supplied. Not enforced, as in Vault. */
  required?: boolean;
  deprecated?: boolean;
  /**
   * The value is a secret: OpenAPI marks it `sensitive`, and validation errors
   * do not echo it.
   */
  sensitive?: boolean;
  /** OpenAPI only: documented as a query parameter of read/list/delete. */
  query?: boolean;
  /** OpenAPI only (`enum`); not enforced, as in Vault. */
  allowedValues?: readonly unknown[];
  displayAttrs?: DisplayAttributes;
}

export type FieldMap = Readonly<Record<string, FieldSchema>>;

/** The value type a field schema yields. */
export type FieldValue<S> = S extends FieldSchema<infer T> ? T : never;

export type FieldLookup<V> = { ok: true; value: V } | { ok: false; value: undefined };

/**
 * The schema of `name`, looked up as an own property only: request data
 * chooses the names, and `constructor` or `__proto__` must not reach
 * Object.prototype.
 */
export function fieldSchemaOf(fields: FieldMap, name: string): FieldSchema | undefined {
  return Object.hasOwn(fields, name) ? fields[name] : undefined;
}

function cloneDefault<T>(value: T): T {
  return typeof value === "object" && value !== null ? structuredClone(value) : value;
}

/**
 * Resolves and checks a schema's default once, when the path is defined: a
 * default the type cannot decode is a programming error.
 */
export function resolveDefault(name: string, schema: FieldSchema): { present: boolean; value: unknown } {
  if (schema.default === undefined || schema.default === null) return { present: false, value: undefined };
  const decoded = schema.type.decode(schema.default);
  if (!decoded.ok) {
    throw new PluginError(
      ErrorCode.Config,
      `default for field ${goQuote(name)} is not a valid ${schema.type.helpName}: ${decoded.message}`,
    );
  }
  return { present: true, value: decoded.value };
}

/** The failure message for one field, in the SDK's wording. */
function conversionError(name: string, schema: FieldSchema, raw: unknown, reason: string): string {
  // Vault: `error converting input %v for field %q: <reason>`. Newer SDKs may
  // have reworded this (reference §13 leaves it open); this is the wording of
  // every SDK version read. Sensitive values are never echoed.
  if (schema.sensitive === true) {
    return `error converting input ${REDACTED} for field ${goQuote(name)}: ${redactedReason(schema.type, raw)}`;
  }
  return `error converting input ${goSprintV(raw)} for field ${goQuote(name)}: ${reason}`;
}

/**
 * Read access to one request's parameters against a path's (or secret's)
 * field schemas. `get` applies defaults; `getOk` tells "absent" from "given",
 * which partial updates need.
 */
export class FieldData<F extends FieldMap = FieldMap> {
  private readonly defaults = new Map<string, { present: boolean; value: unknown }>();

  constructor(
    /** The merged raw input: body or query values, overridden by path captures. */
    readonly raw: Readonly<Record<string, unknown>>,
    readonly schema: F,
  ) {}

  /**
   * Checks every supplied field that the schema knows; returns the first
   * failure message (fields in name order), or undefined when all convert.
   */
  validate(): string | undefined {
    for (const name of Object.keys(this.raw).sort()) {
      const schema = fieldSchemaOf(this.schema, name);
      if (schema === undefined) continue;
      const raw = this.raw[name];
      if (schema.type.nullIsAbsent && (raw === null || raw === undefined)) continue;
      const decoded = schema.type.decode(raw);
      if (!decoded.ok) return conversionError(name, schema, raw, decoded.message);
    }
    return undefined;
  }

  /** The field's value: the supplied one, else its default, else its type's zero value. */
  get<K extends keyof F & string>(name: K): FieldValue<F[K]> {
    const lookup = this.getOk(name);
    return lookup.ok ? lookup.value : this.getDefaultOrZero(name);
  }

  /** The supplied value, or `{ ok: false }` when the request did not supply the field. */
  getOk<K extends keyof F & string>(name: K): FieldLookup<FieldValue<F[K]>> {
    const schema = this.schemaFor(name);
    if (!Object.hasOwn(this.raw, name)) return { ok: false, value: undefined };
    const raw = this.raw[name];
    if (schema.type.nullIsAbsent && (raw === null || raw === undefined)) return { ok: false, value: undefined };
    const decoded = schema.type.decode(raw);
    if (!decoded.ok) {
      // Validation runs before handlers, so this only happens when a handler
      // reads a field of a request that bypassed validation (renew/revoke).
      throw new PluginError(ErrorCode.BadRequest, conversionError(name, schema, raw, decoded.message));
    }
    // The schema of `name` is F[K], whose type decodes to FieldValue<F[K]>.
    return { ok: true, value: decoded.value as FieldValue<F[K]> };
  }

  /** The first of the named fields that was supplied (for current and deprecated names). */
  getFirst<K extends keyof F & string>(...names: K[]): FieldLookup<FieldValue<F[K]>> {
    for (const name of names) {
      const lookup = this.getOk(name);
      if (lookup.ok) return lookup;
    }
    return { ok: false, value: undefined };
  }

  /** The field's default, or its type's zero value, ignoring what was supplied. */
  getDefaultOrZero<K extends keyof F & string>(name: K): FieldValue<F[K]> {
    const schema = this.schemaFor(name);
    let resolved = this.defaults.get(name);
    if (resolved === undefined) {
      resolved = resolveDefault(name, schema);
      this.defaults.set(name, resolved);
    }
    const value = resolved.present ? cloneDefault(resolved.value) : schema.type.zero();
    // Defaults were decoded by F[K]'s own type (resolveDefault), as is zero().
    return value as FieldValue<F[K]>;
  }

  /** Whether the request carried the key at all (even with a null value). */
  has(name: keyof F & string): boolean {
    return Object.hasOwn(this.raw, name);
  }

  /** The raw input with sensitive fields masked, safe to log. */
  redactedRaw(): Record<string, unknown> {
    const copy: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(this.raw)) {
      copy[name] = fieldSchemaOf(this.schema, name)?.sensitive === true ? REDACTED : value;
    }
    return copy;
  }

  private schemaFor(name: string): FieldSchema {
    const schema = fieldSchemaOf(this.schema, name);
    if (schema === undefined) {
      throw new PluginError(ErrorCode.Internal, `field ${goQuote(name)} is not in the schema`);
    }
    return schema;
  }
}

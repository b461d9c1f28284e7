// The one place the code base gets zod from: `import * as z from` this module.
// zod/mini is zod's own tree-shakable entry point: the same validation core,
// with functions instead of methods, so the bundle holds only what the schemas
// use. That holds only while the namespace never escapes as a value (a value
// would keep all of it), hence the re-export instead of exporting `z`. Classic
// zod made up a third of the engine chunk that every mount compiles and
// evaluates (docs/performance.md). zod/mini carries no messages of its own, so
// the English locale, which classic zod loads implicitly, is configured here:
// messages about malformed storage entries, lease data and Nomad answers read
// as they did.
import * as z from "zod/mini";
import { en } from "zod/locales";

z.config(en());

export * from "zod/mini";

/** A schema whose parsed output is `T`. */
export type Schema<T> = z.ZodMiniType<T>;

// One layer per folder, imports flowing one way. A new import that crosses a
// layer the wrong way fails here rather than in review.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const src = path.resolve(import.meta.dirname, "..", "..", "src");

/** Which top-level folders of src/ each layer may import from. */
const ALLOWED: Record<string, string[]> = {
  shared: ["shared"],
  host: ["host", "shared", "generated"],
  framework: ["framework", "shared"],
  vault: ["vault", "host", "framework", "shared", "generated"],
  "nomad-client": ["nomad-client", "shared"],
  engine: ["engine", "framework", "nomad-client", "shared"],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) return entry === "generated" ? [] : sourceFiles(full);
    return entry.endsWith(".ts") && !entry.endsWith(".test.ts") ? [full] : [];
  });
}

function layerOf(file: string): string {
  const relative = path.relative(src, file);
  return relative.includes(path.sep) ? (relative.split(path.sep)[0] as string) : "(root)";
}

describe("layering", () => {
  it("has every layer import only from the layers below it", () => {
    const violations: string[] = [];
    for (const file of sourceFiles(src)) {
      const layer = layerOf(file);
      const allowed = ALLOWED[layer];
      if (allowed === undefined) continue; // main.ts and version.ts wire everything
      const text = readFileSync(file, "utf8");
      for (const match of text.matchAll(/from\s+"(\.[^"]+)"/g)) {
        const target = layerOf(path.resolve(path.dirname(file), match[1] as string));
        if (!allowed.includes(target)) violations.push(`${path.relative(src, file)} imports ${match[1]} (${target})`);
      }
    }
    expect(violations).toEqual([]);
  });

  it("takes zod only through src/shared/schema.ts, so the bundles carry zod/mini and not classic zod", () => {
    // Classic zod was a third of the engine chunk that every mount compiles (docs/performance.md).
    const offenders = sourceFiles(src)
      .filter((file) => !file.endsWith(path.join("shared", "schema.ts")))
      .filter((file) => /from\s+"zod(\/[^"]*)?"/.test(readFileSync(file, "utf8")));
    expect(offenders.map((file) => path.relative(src, file))).toEqual([]);
  });

  it("never writes to stdout outside the handshake and the CLI answers in main", () => {
    const offenders = sourceFiles(src)
      .filter((file) => !file.endsWith(`${path.sep}main.ts`))
      .filter((file) => /console\.(log|info)\(|process\.stdout\.write/.test(readFileSync(file, "utf8")));
    expect(offenders.map((file) => path.relative(src, file))).toEqual([]);
  });
});

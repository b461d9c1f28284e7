import { describe, expect, it } from "vitest";
import { hclogTimestamp, Logger, memoryLogger, parseLogLevel } from "./log.ts";

describe("hclog lines on stderr", () => {
  it("uses Go's timestamp layout with exactly six fractional digits", () => {
    expect(hclogTimestamp(new Date("2026-11-23T01:02:03.456Z"))).toBe("2026-11-23T01:02:03.456000Z");
  });

  it("writes one JSON object per line with @level, @message, @timestamp and fields", () => {
    const { logger, lines } = memoryLogger("info");
    logger.info("hello", { accessor_id: "a-1" });
    expect(lines).toHaveLength(1);
    expect(lines[0]?.endsWith("\n")).toBe(true);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ "@level": "info", "@message": "hello", accessor_id: "a-1" });
  });

  it("drops lines below the level", () => {
    const { logger, lines } = memoryLogger("warn");
    logger.info("quiet");
    logger.error("loud");
    expect(lines).toHaveLength(1);
  });

  it("never writes secrets: secret-named fields and PEM private keys are masked", () => {
    const { logger, lines } = memoryLogger("trace");
    const pem = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIabc\n-----END EC PRIVATE KEY-----";
    logger.info(`loaded ${pem}`, { token: "s3cr3t", nested: { secret_id: "abc", client_key: pem }, accessor_id: "ok" });
    const line = lines[0] as string;
    expect(line).not.toContain("s3cr3t");
    expect(line).not.toContain("MHcCAQEEIabc");
    expect(line).not.toContain('"abc"');
    expect(line).toContain('"accessor_id":"ok"');
  });

  it("parses levels case-insensitively and falls back on junk", () => {
    expect(parseLogLevel("DEBUG")).toBe("debug");
    expect(parseLogLevel("verbose")).toBe("info");
    expect(new Logger("off", () => undefined).enabled("error")).toBe(false);
  });
});

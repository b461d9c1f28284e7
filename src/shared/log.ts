// hclog-style JSON lines on stderr, so the Vault host parses and re-levels them
// (go-plugin logStderr). stdout is reserved for the handshake line.
import { redact } from "./redact.ts";

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "off"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const LEVEL_RANK: Record<LogLevel, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4, off: 5 };

export type LogFields = Record<string, unknown>;
export type LogSink = (line: string) => void;

/** The environment variable (set through the catalog entry's `env`) that chooses the level. */
export const LOG_LEVEL_ENV = "NOMAD_PLUGIN_LOG_LEVEL";

export function parseLogLevel(value: string | undefined, fallback: LogLevel = "info"): LogLevel {
  const lower = value?.trim().toLowerCase();
  return (LOG_LEVELS as readonly string[]).includes(lower ?? "") ? (lower as LogLevel) : fallback;
}

/**
 * Go's layout `2006-01-02T15:04:05.000000Z07:00`: exactly six fractional digits,
 * or the host fails to parse the line and logs it raw at DEBUG.
 */
export function hclogTimestamp(date: Date): string {
  const iso = date.toISOString(); // 2026-01-02T03:04:05.678Z
  return `${iso.slice(0, 23)}000Z`;
}

export class Logger {
  private readonly rank: number;

  constructor(
    readonly level: LogLevel,
    private readonly sink: LogSink,
    private readonly context: LogFields = {},
    private readonly now: () => Date = () => new Date(),
  ) {
    this.rank = LEVEL_RANK[level];
  }

  /** A logger whose lines carry extra fields (for example a mount's multiplex id). */
  with(fields: LogFields): Logger {
    return new Logger(this.level, this.sink, { ...this.context, ...fields }, this.now);
  }

  enabled(level: Exclude<LogLevel, "off">): boolean {
    return LEVEL_RANK[level] >= this.rank;
  }

  trace(message: string, fields?: LogFields): void {
    this.write("trace", message, fields);
  }
  debug(message: string, fields?: LogFields): void {
    this.write("debug", message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.write("info", message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.write("warn", message, fields);
  }
  error(message: string, fields?: LogFields): void {
    this.write("error", message, fields);
  }

  private write(level: Exclude<LogLevel, "off">, message: string, fields?: LogFields): void {
    if (!this.enabled(level)) return;
    const safeFields = redact({ ...this.context, ...fields }) as LogFields;
    const entry: LogFields = {
      "@level": level,
      "@message": redact(message),
      "@timestamp": hclogTimestamp(this.now()),
      ...safeFields,
    };
    this.sink(`${JSON.stringify(entry, bigintReplacer)}\n`);
  }
}

function bigintReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return value.message;
  return value;
}

export function stderrLogger(level: LogLevel): Logger {
  return new Logger(level, (line) => {
    process.stderr.write(line);
  });
}

/** A logger that keeps lines in memory, for tests. */
export function memoryLogger(level: LogLevel = "trace"): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: new Logger(level, (line) => lines.push(line)), lines };
}

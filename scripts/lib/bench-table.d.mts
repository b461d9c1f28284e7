export function median(values: ReadonlyArray<number | null | undefined>): number | null;
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null;
export function atLeastLevel(r: number | null, better: "lower" | "higher"): boolean | null;
export function rssKey(label: string): string | null;
export type Metrics = Record<string, number | null>;
// The host's JSON document (test/conformance/cmd/bench): only the fields read are typed.
export interface HostDocument {
  mounts?: { total_ms: number; checksum_ms: number }[];
  rss?: { label: string; vmrss_kb: number }[];
  throughput?: { name: string; nomad_latency_ms: number | null; concurrency: number; req_per_s: number; p99_ms: number; plugin_cpu_ms_per_req: number; errors: number }[];
  revoke?: { leases: number; issue: { errors: number }; revoke: { errors: number; duration_s: number }; vault_tokens_left: number } | null;
}
export function hostMetrics(host: HostDocument): Metrics;
export function startupMetrics(startup: { medianMs: number }): Metrics;
export interface Measure {
  label: string;
  unit: string;
  better: "lower" | "higher";
  digits: number;
  order: number[];
}
export function describeMeasure(key: string): Measure | null;
export function ratioPairs(columns: readonly string[]): [string, string][];
export interface Row extends Measure {
  key: string;
  values: Record<string, (number | null)[]>;
  medians: Record<string, number | null>;
  ratios: Record<string, number | null>;
}
export function summarise(columns: readonly string[], rounds: Record<string, Metrics[]>): Row[];
export function errorCounts(columns: readonly string[], rounds: Record<string, Metrics[]>): Record<string, number>;
export function formatValue(x: number | null | undefined, digits: number): string;
export function formatRatio(r: number | null): string;
export function renderTable(columns: readonly string[], rows: readonly Row[]): string;
export function renderBox(head: readonly string[], body: readonly string[][], leftAligned: ReadonlySet<number>): string;

// The side-by-side bench table (scripts/lib/bench-table.mjs): the figures an
// operator reads off it are medians of rounds and ratios with a direction.
import { describe, expect, it } from "vitest";
import { atLeastLevel, hostMetrics, median, ratio, ratioPairs, renderTable, summarise } from "../../scripts/lib/bench-table.mjs";

describe("bench table", () => {
  it("takes the median of the rounds, skipping rounds that have no figure", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([5, null, undefined, Number.NaN])).toBe(5);
    expect(median([null])).toBeNull();
  });

  it("reads a ratio as level or better in the measure's own direction", () => {
    expect(ratio(2, 4)).toBe(0.5);
    expect(ratio(2, 0)).toBeNull();
    expect(ratio(null, 4)).toBeNull();
    expect(atLeastLevel(0.5, "lower")).toBe(true);
    expect(atLeastLevel(0.5, "higher")).toBe(false);
    expect(atLeastLevel(1, "higher")).toBe(true);
    expect(atLeastLevel(null, "lower")).toBeNull();
  });

  it("splits ours ÷ peer through the floor when there is one", () => {
    expect(ratioPairs(["ours"])).toEqual([]);
    expect(ratioPairs(["ours", "peer"])).toEqual([["ours", "peer"]]);
    expect(ratioPairs(["ours", "peer", "floor"])).toEqual([
      ["ours", "peer"],
      ["floor", "peer"],
      ["ours", "floor"],
    ]);
  });

  it("turns the host's document into measures and orders them as the table does", () => {
    const doc = {
      mounts: [{ total_ms: 300, checksum_ms: 50 }, { total_ms: 100, checksum_ms: 40 }, { total_ms: 200, checksum_ms: 60 }],
      rss: [
        { label: "idle after mount", vmrss_kb: 20480 },
        { label: "after 250,000 config/lease reads", vmrss_kb: 40960 },
        { label: "after 2 s idle", vmrss_kb: 1 },
      ],
      throughput: [
        { name: "creds", nomad_latency_ms: 5, concurrency: 16, req_per_s: 900, p99_ms: 30, plugin_cpu_ms_per_req: 1, errors: 0 },
        { name: "config/lease read", nomad_latency_ms: null, concurrency: 1, req_per_s: 1000, p99_ms: 2, plugin_cpu_ms_per_req: 0.3, errors: 2 },
      ],
      revoke: { leases: 3000, issue: { errors: 0 }, revoke: { errors: 0, duration_s: 1.25 }, vault_tokens_left: 0 },
    };
    const m = hostMetrics(doc);
    expect(m).toMatchObject({ mount_ms: 200, mount_checksum_ms: 50, rss_idle: 20, rss_reads_250000: 40, "reads_c1_rps": 1000, "creds5_c16_p99": 30, revoke_3000_s: 1.25 });
    expect(Object.keys(m)).not.toContain("rss_reads_2");
    const rows = summarise(["ours"], { ours: [m] });
    expect(rows.map((r) => r.key)).toEqual([
      "mount_ms",
      "mount_checksum_ms",
      "rss_idle",
      "rss_reads_250000",
      "reads_c1_rps",
      "reads_c1_p99",
      "reads_c1_cpu",
      "creds5_c16_rps",
      "creds5_c16_p99",
      "creds5_c16_cpu",
      "revoke_3000_s",
    ]);
  });

  it("prints medians per column and marks the ratios that are level or better", () => {
    const rounds = {
      ours: [{ reads_c16_rps: 1000, rss_idle: 40 }, { reads_c16_rps: 3000, rss_idle: 44 }, { reads_c16_rps: 2000, rss_idle: 42 }],
      peer: [{ reads_c16_rps: 4000, rss_idle: 21 }, { reads_c16_rps: 4000, rss_idle: 21 }, { reads_c16_rps: 4000, rss_idle: 21 }],
    };
    const rows = summarise(["ours", "peer"], rounds);
    const reads = rows.find((r) => r.key === "reads_c16_rps");
    expect(reads?.medians).toEqual({ ours: 2000, peer: 4000 });
    expect(reads?.ratios).toEqual({ "ours ÷ peer": 0.5 });
    const table = renderTable(["ours", "peer"], rows);
    const line = (label: string) => table.split("\n").find((l) => l.includes(label)) ?? "";
    expect(line("config/lease read, c=16 ")).toMatch(/2,000 │\s+4,000 │\s+0\.50×\s+│ higher/);
    expect(line("RSS idle after mount")).toMatch(/42\.0 │\s+21\.0 │\s+2\.00×\s+│ lower/);
    const faster = renderTable(["ours", "peer"], summarise(["ours", "peer"], { ours: [{ reads_c16_rps: 5000 }], peer: [{ reads_c16_rps: 4000 }] }));
    expect(faster).toMatch(/1\.25× ok/);
  });
});

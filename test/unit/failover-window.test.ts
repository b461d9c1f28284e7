// The cluster suite's claim "0 failures outside the failover window" rests on
// where the window ends; these cases pin that definition.
import { describe, expect, it } from "vitest";
import { failoverWindow, Picker, type Attempt } from "../acceptance/support/load.ts";

const ok = (target: string, start: number, end: number): Attempt => ({ target, start, end, ok: true });
const failed = (target: string, start: number, end: number, status?: number): Attempt => ({
  target,
  start,
  end,
  ok: false,
  ...(status === undefined ? {} : { status }),
  error: "redirected",
});

describe("failoverWindow", () => {
  it("stays open until every node that serves again has served once, so a standby still redirecting after the election is inside", () => {
    const attempts = [
      ok("node2", 900, 950),
      failed("node2", 1_010, 1_020),
      ok("node3", 2_000, 2_050),
      failed("node2", 2_100, 2_110, 307),
      ok("node2", 2_500, 2_520),
    ];
    const window = failoverWindow(attempts, 1_000, 1_900);
    expect(window.firstRecoveredAt).toBe(2_050);
    expect(window.recoveredAt).toBe(2_520);
    expect(window.recoveredMsByTarget).toEqual({ node3: 1_050, node2: 1_520 });
    expect([window.failuresInWindow, window.failuresOutsideWindow]).toEqual([2, 0]);
  });

  it("counts a failure after every node recovered as outside, and one before the fault as outside", () => {
    const attempts = [failed("node2", 500, 600), ok("node2", 2_000, 2_010), ok("node3", 2_000, 2_020), failed("node3", 3_000, 3_010)];
    const window = failoverWindow(attempts, 1_000, 1_500);
    expect(window.recoveredAt).toBe(2_020);
    expect([window.failuresInWindow, window.failuresOutsideWindow]).toEqual([0, 2]);
  });

  it("credits both nodes of a creds-then-revoke cycle", () => {
    const window = failoverWindow([ok("node2+node3", 2_000, 2_100)], 1_000, 1_500);
    expect(window.recoveredMsByTarget).toEqual({ node2: 1_100, node3: 1_100 });
  });

  it("ignores successes that started before the new leader was seen", () => {
    const window = failoverWindow([ok("node2", 1_100, 1_800), failed("node2", 1_900, 1_950)], 1_000, 1_500);
    expect(window.recoveredAt).toBeUndefined();
    expect(window.failuresInWindow).toBe(1);
  });
});

describe("Picker", () => {
  const nodes = [{ id: "a" }, { id: "b" }];
  it("keeps a node that refused connections out until it is restored, however long that takes", () => {
    const picker = new Picker(nodes, 1);
    picker.bench(nodes[0] as { id: string }, true);
    const picked = Array.from({ length: 6 }, () => picker.next().id);
    expect(picked).toEqual(["b", "b", "b", "b", "b", "b"]);
    picker.restore(nodes[0] as { id: string });
    expect(new Set(Array.from({ length: 4 }, () => picker.next().id))).toEqual(new Set(["a", "b"]));
  });
});

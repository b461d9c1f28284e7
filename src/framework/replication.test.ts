// The forwarding decision as the Go SDK's framework makes it: which node may
// run an operation, judged before the handler (and before field validation).
import { describe, expect, it, vi } from "vitest";
import { ErrorCode, PluginError, READ_ONLY_MESSAGE } from "../shared/errors.ts";
import { FrameworkBackend } from "./backend.ts";
import { TypeInt } from "./field-types.ts";
import { definePath } from "./path.ts";
import { CREATES_LEASE, ReplicationState, WRITES_REPLICATED_STORAGE } from "./replication.ts";
import { setupTestBackend } from "./testing.ts";

const { PerformanceStandby: STANDBY, PerformanceSecondary: SECONDARY, PerformancePrimary: PRIMARY } = ReplicationState;

function backendWithCounters() {
  const handled = { plain: 0, writes: 0, lease: 0 };
  const backend = new FrameworkBackend({
    help: "test",
    paths: [
      definePath({
        pattern: "thing",
        fields: { count: { type: TypeInt } },
        operations: {
          read: async () => ({ data: { handled: ++handled.plain } }),
          update: { handler: async () => ({ data: { handled: ++handled.writes } }), ...WRITES_REPLICATED_STORAGE },
        },
      }),
      definePath({
        pattern: "lease",
        operations: { read: { handler: async () => ({ data: { handled: ++handled.lease } }), ...CREATES_LEASE } },
      }),
    ],
  });
  return { backend, handled };
}

type Outcome = "runs here" | "forwarded";

describe("operations flagged to run on the active node", () => {
  it.each<[string, number, boolean, string, Outcome]>([
    ["active node, no replication", 0, false, "update thing", "runs here"],
    ["performance primary", PRIMARY, false, "update thing", "runs here"],
    ["performance standby", STANDBY, false, "update thing", "forwarded"],
    ["standby of a performance primary", STANDBY | PRIMARY, false, "update thing", "forwarded"],
    ["performance secondary, replicated mount", SECONDARY, false, "update thing", "forwarded"],
    ["performance secondary, local mount", SECONDARY, true, "update thing", "runs here"],
    ["performance standby, plain read", STANDBY, false, "read thing", "runs here"],
    ["performance standby, lease-creating read", STANDBY, false, "read lease", "forwarded"],
    ["performance secondary, lease-creating read", SECONDARY, false, "read lease", "runs here"],
  ])("%s: %s", async (_node, replicationState, localMount, call, expected) => {
    const { backend, handled } = backendWithCounters();
    const mount = await setupTestBackend(backend, { replicationState, localMount });
    const [operation, path] = call.split(" ") as ["read" | "update", string];
    const before = { ...handled };
    const outcome = await mount.request({ operation, path, data: operation === "update" ? { count: 1 } : null }).then(
      () => "runs here" as const,
      (error: unknown) => {
        expect(error).toBeInstanceOf(PluginError);
        expect(error).toMatchObject({ code: ErrorCode.ReadOnly, message: READ_ONLY_MESSAGE });
        return "forwarded" as const;
      },
    );
    expect(outcome).toBe(expected);
    // A forwarded operation never reached its handler.
    expect(handled).toEqual(expected === "forwarded" ? before : expect.not.objectContaining(before));
  });

  it("forwards a standby's bad input rather than answering it there (the active node answers the 400)", async () => {
    const mount = await setupTestBackend(backendWithCounters().backend, { replicationState: STANDBY });
    await expect(mount.request({ operation: "update", path: "thing", data: { count: "not a number" } })).rejects.toMatchObject({
      code: ErrorCode.ReadOnly,
    });
  });

  it("asks the host for the replication state once per flagged request, and never for plain ones", async () => {
    const mount = await setupTestBackend(backendWithCounters().backend, { replicationState: 0 });
    const asked = vi.spyOn(mount.system, "replicationState");
    await mount.request({ operation: "read", path: "thing" });
    expect(asked).not.toHaveBeenCalled();
    await mount.request({ operation: "update", path: "thing", data: { count: 1 } });
    expect(asked).toHaveBeenCalledTimes(1);
  });

  it("runs the operation here, with a warning, when the host cannot say (the host's storage still refuses writes on a standby)", async () => {
    const { backend, handled } = backendWithCounters();
    const mount = await setupTestBackend(backend);
    vi.spyOn(mount.system, "replicationState").mockRejectedValue(new Error("broker connection closed"));
    await mount.request({ operation: "update", path: "thing", data: { count: 1 } });
    expect(handled.writes).toBe(1);
    expect(mount.logs.join("\n")).toMatch(/could not read the replication state.*broker connection closed/);
  });

  it("sends an operation's calls ahead while the replication state is asked, and drops them when it forwards", async () => {
    const order: string[] = [];
    let handled = 0;
    const backend = new FrameworkBackend({
      help: "test",
      paths: [
        definePath({
          pattern: "lease",
          operations: {
            read: {
              handler: async (_request, _data, env) => {
                handled++;
                return { data: { max: Number(await env.system.maxLeaseTtl()) } };
              },
              ...CREATES_LEASE,
              systemCallsAhead: ["maxLeaseTtl"],
            },
          },
        }),
      ],
    });
    const mount = await setupTestBackend(backend, { replicationState: 0 });
    let answerReplication: (state: number) => void = () => {};
    vi.spyOn(mount.system, "replicationState").mockImplementation(() => {
      order.push("replicationState");
      return new Promise((resolve) => (answerReplication = resolve));
    });
    const maxLeaseTtl = vi.spyOn(mount.system, "maxLeaseTtl");
    maxLeaseTtl.mockImplementation(async () => {
      order.push("maxLeaseTtl");
      return 7_000_000_000n;
    });

    const active = mount.request({ operation: "read", path: "lease" });
    await new Promise((resolve) => setTimeout(resolve, 10));
    // Both calls are out before the replication state is known.
    expect(order.sort()).toEqual(["maxLeaseTtl", "replicationState"]);
    answerReplication(0);
    expect((await active)?.data).toEqual({ max: 7_000_000_000 });
    expect(maxLeaseTtl).toHaveBeenCalledTimes(1);

    // A request that starts while another runs sends nothing ahead: it asks when its handler does.
    maxLeaseTtl.mockClear();
    const pending: Array<(state: number) => void> = [];
    vi.spyOn(mount.system, "replicationState").mockImplementation(() => new Promise((resolve) => pending.push(resolve)));
    const first = mount.request({ operation: "read", path: "lease" });
    // The first one's call sent ahead is answered; it still waits on the replication state.
    await new Promise((resolve) => setTimeout(resolve, 10));
    const both = [first, mount.request({ operation: "read", path: "lease" })];
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(maxLeaseTtl).toHaveBeenCalledTimes(1);
    for (const answer of pending.splice(0)) answer(0);
    await Promise.all(both);
    expect(maxLeaseTtl).toHaveBeenCalledTimes(2);
    answerReplication = (state) => pending.shift()?.(state);

    maxLeaseTtl.mockRejectedValue(new Error("broker gone"));
    const forwarded = mount.request({ operation: "read", path: "lease" });
    await new Promise((resolve) => setTimeout(resolve, 10));
    answerReplication(STANDBY);
    await expect(forwarded).rejects.toMatchObject({ code: ErrorCode.ReadOnly });
    // The three requests that ran; the forwarded one never reached its handler.
    expect(handled).toBe(3);
  });
});

// Where the plugin listens: a Unix socket named like go-plugin's
// (`<dir>/plugin<digits>`), in PLUGIN_UNIX_SOCKET_DIR when the host sets it.
import { chmodSync, chownSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomInt } from "node:crypto";
import { ErrorCode, PluginError } from "../shared/errors.ts";

export function socketPath(env: NodeJS.ProcessEnv): string {
  const dir = env.PLUGIN_UNIX_SOCKET_DIR || tmpdir();
  return path.join(path.resolve(dir), `plugin${randomInt(100_000_000, 999_999_999)}`);
}

/** go-plugin: with PLUGIN_UNIX_SOCKET_GROUP set, the socket belongs to that group, mode 0660. */
export function applySocketGroup(socket: string, group: string | undefined): void {
  if (group === undefined || group === "") return;
  const gid = /^\d+$/.test(group) ? Number(group) : lookupGroupId(group);
  try {
    chownSync(socket, -1, gid);
    chmodSync(socket, 0o660);
  } catch (error) {
    throw new PluginError(ErrorCode.Handshake, `could not give socket ${socket} to group ${group}`, { cause: error });
  }
}

function lookupGroupId(name: string): number {
  let groups: string;
  try {
    groups = readFileSync("/etc/group", "utf8");
  } catch (error) {
    throw new PluginError(ErrorCode.Handshake, `could not look up group ${name}: /etc/group is unreadable`, { cause: error });
  }
  for (const line of groups.split("\n")) {
    const [groupName, , gid] = line.split(":");
    if (groupName === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new PluginError(ErrorCode.Handshake, `PLUGIN_UNIX_SOCKET_GROUP names unknown group ${name}`);
}

export function removeSocket(socket: string): void {
  rmSync(socket, { force: true });
}

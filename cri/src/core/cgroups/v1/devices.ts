/**
 * cgroup v1 "devices": an allow/deny list for device nodes, written one rule per write to
 * devices.allow or devices.deny as "<type> <major>:<minor> <access>" ("a" for all types,
 * "*" for any number). Rules apply in order; OCI configs start with a deny-all. A child
 * can never allow more than its parent. (cgroup v2 has no files for this: it needs an
 * eBPF program, see README.)
 */
import { invalidArgument } from "../../errors.js";
import { file, type CgroupFs } from "../cgroup-fs.js";
import type { Controller } from "../controller.js";
import type { LinuxDeviceCgroup, LinuxResources } from "../resources.js";

/** The devices.allow/deny line for one OCI rule. */
export function deviceRule(d: LinuxDeviceCgroup): string {
  const type = d.type ?? "a";
  if (!["a", "b", "c"].includes(type)) throw invalidArgument(`device type ${JSON.stringify(type)}`);
  const access = d.access ?? "rwm";
  if (!/^[rwm]{1,3}$/.test(access))
    throw invalidArgument(`device access ${JSON.stringify(access)}`);
  const num = (n: number | undefined): string => (n === undefined || n < 0 ? "*" : String(n));
  return `${type} ${num(d.major)}:${num(d.minor)} ${access}`;
}

export const devicesV1: Controller = {
  name: "devices",

  async apply(fs: CgroupFs, dir: string, r: LinuxResources) {
    for (const d of r.devices ?? []) {
      await fs.write(file(dir, d.allow ? "devices.allow" : "devices.deny"), deviceRule(d));
    }
  },
};

import { describe, expect, test } from "@jest/globals";
import { infraSpec } from "./infra.js";
import type { PodNamespaces } from "./sandbox-config.js";

const ns = (o: Partial<PodNamespaces> = {}): PodNamespaces => ({
  hostNetwork: false,
  hostIpc: false,
  hostPid: false,
  sharedPid: false,
  network: "POD",
  pid: "CONTAINER",
  ipc: "POD",
  ...o,
});

const types = (spec: ReturnType<typeof infraSpec>) =>
  (spec.linux?.namespaces ?? []).map((n) => (n.path ? `${n.type}=${n.path}` : n.type));

describe("infraSpec", () => {
  test("a pod: new mount, ipc, uts, pid namespaces and the pod netns file; nothing privileged", () => {
    const spec = infraSpec({
      hostname: "web",
      namespaces: ns(),
      netnsPath: "/run/skiff/netns/abc",
      cgroupPath: "kubepods/podu/abc",
      sysctls: { "net.ipv4.ip_forward": "1" },
      annotations: {},
    });
    expect(types(spec)).toEqual(["mount", "ipc", "uts", "pid", "network=/run/skiff/netns/abc"]);
    expect(spec.hostname).toBe("web");
    expect(spec.process?.args).toEqual(["/skiff-infra"]);
    expect(spec.process?.user).toEqual({ uid: 65535, gid: 65535 });
    expect(spec.process?.capabilities).toEqual({ bounding: [], effective: [], permitted: [] });
    expect(spec.process?.noNewPrivileges).toBe(true);
    expect(spec.root).toEqual({ path: "rootfs", readonly: true });
    // its own /dev: the rootfs directory is shared by every pod
    expect(spec.mounts?.map((m) => [m.destination, m.type])).toEqual([["/dev", "tmpfs"]]);
    expect(spec.linux?.cgroupsPath).toBe("kubepods/podu/abc");
    expect(spec.linux?.sysctl).toEqual({ "net.ipv4.ip_forward": "1" });
    expect(spec.linux?.resources?.devices).toEqual([{ allow: false, access: "rwm" }]);
  });

  test("host network, IPC and PID: those namespaces are the node's, no hostname is set", () => {
    const spec = infraSpec({
      hostname: "node1",
      namespaces: ns({ hostNetwork: true, hostIpc: true, hostPid: true }),
      cgroupPath: "skiff/pods/x/x",
      sysctls: {},
      annotations: {},
    });
    expect(types(spec)).toEqual(["mount"]);
    expect(spec.hostname).toBeUndefined();
    expect(spec.linux?.sysctl).toBeUndefined();
  });
});

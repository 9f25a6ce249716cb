import { describe, expect, test } from "@jest/globals";
import type { PodSandboxConfig__Output } from "../../generated/runtime/v1/PodSandboxConfig.js";
import {
  podCgroup,
  podHostname,
  podNamespaces,
  podPortMappings,
  podResources,
  podSysctls,
  reservationName,
} from "./sandbox-config.js";

function config(
  change: (c: PodSandboxConfig__Output) => void = () => undefined,
): PodSandboxConfig__Output {
  const c: PodSandboxConfig__Output = {
    metadata: { name: "web", namespace: "default", uid: "1234-abcd", attempt: 2 },
    hostname: "",
    log_directory: "",
    dns_config: null,
    port_mappings: [],
    labels: {},
    annotations: {},
    linux: {
      cgroup_parent: "",
      security_context: null,
      sysctls: {},
      overhead: null,
      resources: null,
    },
    windows: null,
  };
  change(c);
  return c;
}

const withNs = (
  network: "POD" | "NODE",
  ipc: "POD" | "NODE",
  pid: "POD" | "CONTAINER" | "NODE" = "CONTAINER",
) =>
  config((c) => {
    c.linux!.security_context = {
      namespace_options: { network, ipc, pid, target_id: "", userns_options: null },
    } as never;
  });

describe("reservationName", () => {
  test("is <name>_<namespace>_<uid>_<attempt>", () => {
    expect(reservationName(config())).toBe("web_default_1234-abcd_2");
  });
  test("refuses missing metadata, empty parts, underscores and long names", () => {
    expect(() => reservationName(null)).toThrow(/metadata is required/);
    expect(() => reservationName(config((c) => (c.metadata = null)))).toThrow(/metadata/);
    expect(() => reservationName(config((c) => (c.metadata!.name = "")))).toThrow(
      /name is required/,
    );
    expect(() => reservationName(config((c) => (c.metadata!.namespace = "a_b")))).toThrow(
      /namespace/,
    );
    expect(() => reservationName(config((c) => (c.metadata!.uid = "x".repeat(300))))).toThrow(
      /uid/,
    );
    expect(() => reservationName(config((c) => (c.metadata!.name = "../x")))).toThrow(/name/);
  });
});

describe("podNamespaces", () => {
  test("modes map to host namespaces and a shared pid namespace", () => {
    expect(podNamespaces(config())).toMatchObject({
      hostNetwork: false,
      hostIpc: false,
      hostPid: false,
      sharedPid: false,
    });
    expect(podNamespaces(withNs("NODE", "NODE", "NODE"))).toMatchObject({
      hostNetwork: true,
      hostIpc: true,
      hostPid: true,
    });
    expect(podNamespaces(withNs("POD", "POD", "POD"))).toMatchObject({
      sharedPid: true,
      pid: "POD",
    });
  });
});

describe("podSysctls", () => {
  const sysctls = (s: Record<string, string>, c = config()) => {
    c.linux!.sysctls = s;
    return podSysctls(c);
  };
  test("namespaced sysctls pass; '/' separators become dots", () => {
    expect(
      sysctls({ "net.ipv4.ip_forward": "1", "kernel.shmmax": "10", "fs.mqueue.msg_max": "20" }),
    ).toEqual({
      "net.ipv4.ip_forward": "1",
      "kernel.shmmax": "10",
      "fs.mqueue.msg_max": "20",
    });
    expect(sysctls({ "net/ipv4/ip_forward": "1" })).toEqual({ "net.ipv4.ip_forward": "1" });
  });
  test("node-wide sysctls, net.* on host network, IPC on host IPC and injected values are refused", () => {
    expect(() => sysctls({ "kernel.panic": "1" })).toThrow(/not a namespaced sysctl/);
    expect(() => sysctls({ "vm.overcommit_memory": "1" })).toThrow(/not a namespaced/);
    expect(() => sysctls({ "net.ipv4.ip_forward": "1" }, withNs("NODE", "POD"))).toThrow(
      /host-network/,
    );
    expect(() => sysctls({ "kernel.msgmax": "1" }, withNs("POD", "NODE"))).toThrow(/host-IPC/);
    expect(() => sysctls({ "kernel.shmmax": "1+kernel.panic=1" })).toThrow(/one setting/);
    expect(() => sysctls({ "kernel.shmmax": "1\nx" })).toThrow(/one setting/);
    expect(() => sysctls({ "../../etc": "1" })).toThrow(/not a sysctl name/);
  });
});

describe("podHostname", () => {
  test("the config's, else the node's for host network, else from the pod name", () => {
    expect(
      podHostname(
        config((c) => (c.hostname = "my-host")),
        "node1",
      ),
    ).toBe("my-host");
    expect(podHostname(withNs("NODE", "POD"), "node1")).toBe("node1");
    expect(
      podHostname(
        config((c) => (c.metadata!.name = "Web.App")),
        "node1",
      ),
    ).toBe("web-app");
    expect(() =>
      podHostname(
        config((c) => (c.hostname = "bad host")),
        "n",
      ),
    ).toThrow(/host name/);
  });
});

describe("podPortMappings", () => {
  test("host ports become portmap entries; container-only ports are skipped; bad ports refused", () => {
    const c = config((c) => {
      c.port_mappings = [
        { protocol: "TCP", container_port: 80, host_port: 8080, host_ip: "" },
        { protocol: "UDP", container_port: 53, host_port: 5353, host_ip: "127.0.0.1" },
        { protocol: "TCP", container_port: 9090, host_port: 0, host_ip: "" },
      ];
    });
    expect(podPortMappings(c)).toEqual([
      { hostPort: 8080, containerPort: 80, protocol: "tcp" },
      { hostPort: 5353, containerPort: 53, protocol: "udp", hostIP: "127.0.0.1" },
    ]);
    const bad = config((c) => {
      c.port_mappings = [{ protocol: "TCP", container_port: 70000, host_port: 1, host_ip: "" }];
    });
    expect(() => podPortMappings(bad)).toThrow(/not a port/);
  });
});

describe("podCgroup and podResources", () => {
  test("kubelet's cgroupfs parent is used as is; no parent: skiff/pods/<id>; systemd slices and .. refused", () => {
    expect(
      podCgroup(
        config((c) => (c.linux!.cgroup_parent = "/kubepods/burstable/podab")),
        "id1",
      ),
    ).toBe("kubepods/burstable/podab");
    expect(podCgroup(config(), "id1")).toBe("skiff/pods/id1");
    expect(() =>
      podCgroup(
        config((c) => (c.linux!.cgroup_parent = "kubepods.slice")),
        "i",
      ),
    ).toThrow(/systemd/);
    expect(() =>
      podCgroup(
        config((c) => (c.linux!.cgroup_parent = "/a/../b")),
        "i",
      ),
    ).toThrow(/cgroup path/);
  });
  test("resources plus overhead size the pod cgroup", () => {
    const r = {
      hugepage_limits: [],
      unified: {},
      memory_limit_in_bytes: "1000",
      cpu_shares: "512",
      cpu_quota: "50000",
      cpu_period: "100000",
    };
    const o = {
      hugepage_limits: [],
      unified: {},
      memory_limit_in_bytes: "24",
      cpu_shares: "10",
      cpu_quota: "5000",
      cpu_period: "100000",
    };
    expect(podResources(r as never, o as never)).toMatchObject({
      memory: { limit: 1024 },
      cpu: { shares: 522, quota: 55000, period: 100000 },
    });
    expect(podResources(null, null)).toEqual({});
  });
});

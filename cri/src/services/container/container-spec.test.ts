import { describe, expect, test } from "@jest/globals";
import { parseGroup, parsePasswd } from "../../core/rootfs/users.js";
import type { ContainerConfig__Output } from "../../generated/runtime/v1/ContainerConfig.js";
import { buildContainerSpec, mergeEnv, type ContainerSpecInput } from "./container-spec.js";

function config(
  change: (c: ContainerConfig__Output) => void = () => undefined,
): ContainerConfig__Output {
  const c = {
    metadata: { name: "app", attempt: 0 },
    image: null,
    command: [],
    args: [],
    working_dir: "",
    envs: [],
    mounts: [],
    devices: [],
    labels: {},
    annotations: {},
    log_path: "",
    stdin: false,
    stdin_once: false,
    tty: false,
    linux: null,
    windows: null,
    CDI_devices: [],
    stop_signal: "RUNTIME_DEFAULT",
  } as unknown as ContainerConfig__Output;
  change(c);
  return c;
}

function security(c: ContainerConfig__Output): Record<string, unknown> {
  c.linux ??= { resources: null, security_context: null } as never;
  c.linux!.security_context ??= {
    capabilities: null,
    privileged: false,
    namespace_options: null,
    run_as_user: null,
    run_as_username: "",
    readonly_rootfs: false,
    supplemental_groups: [],
    apparmor_profile: "",
    seccomp_profile_path: "",
    no_new_privs: false,
    run_as_group: null,
    masked_paths: [],
    readonly_paths: [],
    seccomp: null,
    apparmor: null,
    supplemental_groups_policy: "Merge",
  } as never;
  return c.linux!.security_context as unknown as Record<string, unknown>;
}

const users = {
  passwd: parsePasswd("root:x:0:0:root:/root:/bin/sh\nwww:x:33:33::/var/www:/bin/false\n"),
  group: parseGroup("root:x:0:\nwww:x:33:\nextra:x:1000:www\n"),
};

function input(
  c: ContainerConfig__Output,
  image: ContainerSpecInput["image"] = { Cmd: ["sh"] },
): ContainerSpecInput {
  return {
    id: "c1",
    config: c,
    image,
    rootfs: "/var/lib/skiff/c1/rootfs",
    users,
    sandbox: {
      id: "p1",
      netnsPath: "/run/skiff/netns/p1",
      ipcnsPath: "/proc/42/ns/ipc",
      utsnsPath: "/proc/42/ns/uts",
      pidnsPath: "/proc/42/ns/pid",
      hostNetwork: false,
      hostIpc: false,
      hostPid: false,
      hostsPath: "/run/skiff/p1/hosts",
      resolvConfPath: "/run/skiff/p1/resolv.conf",
      hostnamePath: "/run/skiff/p1/hostname",
      shmPath: "/run/skiff/p1/shm",
      cgroupParent: "/kubepods/podabc",
      sysctls: { "net.ipv4.ip_unprivileged_port_start": "0" },
    },
    volumeDir: (p) => `/var/lib/skiff/c1/volumes${p}`,
    hostDevice: (p) =>
      p === "/dev/fuse"
        ? { path: p, type: "c", major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 }
        : undefined,
    allHostDevices: () => [
      { path: "/dev/sda", type: "b", major: 8, minor: 0, fileMode: 0o660, uid: 0, gid: 6 },
    ],
    appArmorEnabled: false,
    selinuxEnabled: false,
    capLastCap: 40,
    readSeccompProfile: () => JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [] }),
  };
}

describe("buildContainerSpec", () => {
  test("command, args and env follow Docker's rules over the image config", () => {
    const image = {
      Entrypoint: ["/entry"],
      Cmd: ["default"],
      Env: ["A=image", "B=b"],
      WorkingDir: "/w",
    };
    expect(buildContainerSpec(input(config(), image)).process?.args).toEqual(["/entry", "default"]);
    expect(
      buildContainerSpec(
        input(
          config((c) => (c.args = ["x"])),
          image,
        ),
      ).process?.args,
    ).toEqual(["/entry", "x"]);
    const spec = buildContainerSpec(
      input(
        config((c) => {
          c.command = ["/bin/cmd"];
          c.envs = [{ key: "A", value: Buffer.from("config") }];
        }),
        image,
      ),
    );
    expect(spec.process?.args).toEqual(["/bin/cmd"]);
    expect(spec.process?.env).toEqual([expect.stringMatching(/^PATH=/), "B=b", "A=config"]);
    expect(spec.process?.cwd).toBe("/w");
    expect(() => buildContainerSpec(input(config(), {}))).toThrow(/no command given/);
  });

  test("defaults: 14 capabilities, masked and read-only paths, pod namespaces joined, pod files mounted", () => {
    const spec = buildContainerSpec(input(config()));
    expect(spec.process?.capabilities?.effective).toHaveLength(14);
    expect(spec.linux?.maskedPaths).toContain("/proc/kcore");
    expect(spec.linux?.readonlyPaths).toContain("/proc/sys");
    expect(spec.linux?.namespaces).toEqual([
      { type: "mount" },
      { type: "network", path: "/run/skiff/netns/p1" },
      { type: "ipc", path: "/proc/42/ns/ipc" },
      { type: "uts", path: "/proc/42/ns/uts" },
      { type: "pid" },
    ]);
    const destinations = spec.mounts?.map((m) => m.destination);
    expect(destinations).toEqual(
      expect.arrayContaining(["/etc/hosts", "/etc/resolv.conf", "/etc/hostname", "/dev/shm"]),
    );
    expect(spec.mounts?.find((m) => m.destination === "/dev/shm")?.source).toBe(
      "/run/skiff/p1/shm",
    );
    expect(spec.linux?.cgroupsPath).toBe("/kubepods/podabc/c1");
    expect(spec.linux?.sysctl).toEqual({ "net.ipv4.ip_unprivileged_port_start": "0" });
    expect(spec.linux?.seccomp).toBeUndefined(); // nothing asked: unconfined, as kubelet's default
  });

  test("capabilities: add, drop, ALL", () => {
    const caps = (add: string[], drop: string[]) =>
      buildContainerSpec(
        input(
          config((c) => {
            security(c)["capabilities"] = {
              add_capabilities: add,
              drop_capabilities: drop,
              add_ambient_capabilities: [],
            };
          }),
        ),
      ).process?.capabilities?.effective;
    expect(caps(["SYS_ADMIN"], ["NET_RAW"])).toEqual(expect.arrayContaining(["CAP_SYS_ADMIN"]));
    expect(caps(["SYS_ADMIN"], ["NET_RAW"])).not.toContain("CAP_NET_RAW");
    expect(caps(["ALL"], [])).toHaveLength(41);
    expect(caps(["CHOWN"], ["ALL"])).toEqual(["CAP_CHOWN"]);
    expect(() => caps(["FLY"], [])).toThrow(/unknown capability CAP_FLY/);
  });

  test("privileged: every capability, host devices, no masking, writable /sys, no seccomp", () => {
    const spec = buildContainerSpec(
      input(
        config((c) => {
          security(c)["privileged"] = true;
          security(c)["seccomp"] = { profile_type: "RuntimeDefault", localhost_ref: "" };
        }),
      ),
    );
    expect(spec.process?.capabilities?.bounding).toHaveLength(41);
    expect(spec.linux?.devices?.map((d) => d.path)).toEqual(["/dev/sda"]);
    expect(spec.linux?.maskedPaths).toEqual([]);
    expect(spec.linux?.readonlyPaths).toEqual([]);
    expect(spec.mounts?.find((m) => m.destination === "/sys")?.options).toContain("rw");
    expect(spec.linux?.seccomp).toBeUndefined();
    const localhost = buildContainerSpec(
      input(
        config((c) => {
          security(c)["privileged"] = true;
          security(c)["seccomp"] = { profile_type: "Localhost", localhost_ref: "/etc/p.json" };
        }),
      ),
    );
    expect(localhost.linux?.seccomp).toBeUndefined();
  });

  test("privileged and ALL grant only what skiff-cri's own bounding set holds", () => {
    const withBounding = (c: ContainerConfig__Output): ContainerSpecInput => ({
      ...input(c),
      boundingSet: ["CAP_CHOWN", "CAP_SYS_ADMIN"],
    });
    const privileged = buildContainerSpec(
      withBounding(config((c) => (security(c)["privileged"] = true))),
    );
    expect(privileged.process?.capabilities?.bounding).toEqual(["CAP_CHOWN", "CAP_SYS_ADMIN"]);
    const all = buildContainerSpec(
      withBounding(
        config(
          (c) =>
            (security(c)["capabilities"] = {
              add_capabilities: ["ALL"],
              drop_capabilities: [],
              add_ambient_capabilities: [],
            }),
        ),
      ),
    );
    expect(all.process?.capabilities?.effective).toEqual(["CAP_CHOWN", "CAP_SYS_ADMIN"]);
  });

  test("users: run_as_user, run_as_username, image USER, groups and supplemental groups", () => {
    const user = (
      change: (s: Record<string, unknown>) => void,
      image: ContainerSpecInput["image"] = { Cmd: ["sh"] },
    ) =>
      buildContainerSpec(
        input(
          config((c) => change(security(c))),
          image,
        ),
      ).process?.user;
    expect(user(() => undefined, { Cmd: ["sh"], User: "www" })).toEqual({
      uid: 33,
      gid: 33,
      additionalGids: [1000],
    });
    expect(user((s) => (s["run_as_user"] = { value: "1234" }))).toEqual({
      uid: 1234,
      gid: 0,
      additionalGids: [],
    });
    expect(user((s) => (s["run_as_username"] = "www"))).toMatchObject({ uid: 33, gid: 33 });
    expect(
      user((s) => {
        s["run_as_user"] = { value: "33" };
        s["run_as_group"] = { value: "7" };
        s["supplemental_groups"] = ["50", "60"];
      }),
    ).toEqual({ uid: 33, gid: 7, additionalGids: [50, 60, 1000] });
    expect(
      user((s) => {
        s["run_as_username"] = "www";
        s["supplemental_groups_policy"] = "Strict";
      }),
    ).toEqual({ uid: 33, gid: 33, additionalGids: [] });
    expect(() => user(() => undefined, { Cmd: ["sh"], User: "nobody-here" })).toThrow(
      /no user "nobody-here"/,
    );
    expect(user(() => undefined, { Cmd: ["sh"], User: "33:extra" })).toMatchObject({
      uid: 33,
      gid: 1000,
    });
    expect(() => user((s) => (s["run_as_group"] = { value: "7" }))).toThrow(
      /run_as_group: needs run_as_user or run_as_username/,
    );
  });

  test("image volumes: read-only binds of the mounted image, never an empty source", () => {
    const withImage = config((c) => {
      c.mounts = [
        {
          container_path: "/models",
          host_path: "",
          readonly: false,
          propagation: "PROPAGATION_PRIVATE",
          image: { image: "registry.local/models:1" },
        },
      ] as never;
    });
    const spec = buildContainerSpec({
      ...input(withImage),
      imageVolumeSources: new Map([[0, "/var/lib/skiff/containers/c/image-volumes/0"]]),
    });
    expect(spec.mounts?.find((m) => m.destination === "/models")).toEqual({
      destination: "/models",
      type: "bind",
      source: "/var/lib/skiff/containers/c/image-volumes/0",
      options: ["rbind", "rprivate", "ro", "nosuid", "nodev"],
    });
    expect(() => buildContainerSpec(input(withImage))).toThrow(
      /mounts\[0\]\.image: .* not mounted/,
    );
  });

  test("mounts: propagation, read-only, recursive read-only, bad paths refused", () => {
    const spec = buildContainerSpec(
      input(
        config((c) => {
          c.mounts = [
            {
              container_path: "/data",
              host_path: "/srv/data",
              readonly: false,
              propagation: "PROPAGATION_BIDIRECTIONAL",
            },
            {
              container_path: "/ro",
              host_path: "/srv/ro",
              readonly: true,
              propagation: "PROPAGATION_PRIVATE",
              recursive_read_only: true,
            },
            {
              container_path: "/etc/hosts",
              host_path: "/custom/hosts",
              readonly: false,
              propagation: "PROPAGATION_HOST_TO_CONTAINER",
            },
          ] as never;
        }),
      ),
    );
    expect(spec.mounts?.find((m) => m.destination === "/data")?.options).toEqual([
      "rbind",
      "rshared",
      "rw",
    ]);
    expect(spec.mounts?.find((m) => m.destination === "/ro")?.options).toEqual([
      "rbind",
      "rprivate",
      "ro",
      "rro",
    ]);
    expect(spec.mounts?.filter((m) => m.destination === "/etc/hosts")).toEqual([
      {
        destination: "/etc/hosts",
        type: "bind",
        source: "/custom/hosts",
        options: ["rbind", "rslave", "rw"],
      },
    ]);
    // A bidirectional volume needs the root shared so its mounts stay the host's peers.
    expect(spec.linux?.rootfsPropagation).toBe("shared");
    expect(buildContainerSpec(input(config(() => {}))).linux?.rootfsPropagation).toBe("slave");
    const bad = (m: object) => () =>
      buildContainerSpec(input(config((c) => (c.mounts = [m] as never))));
    expect(
      bad({ container_path: "rel", host_path: "/x", propagation: "PROPAGATION_PRIVATE" }),
    ).toThrow(/must be absolute/);
    expect(
      bad({ container_path: "/x", host_path: "", propagation: "PROPAGATION_PRIVATE" }),
    ).toThrow(/host_path: must not be empty/);
    expect(
      bad({
        container_path: "/x",
        host_path: "/y",
        readonly: false,
        recursive_read_only: true,
        propagation: "PROPAGATION_PRIVATE",
      }),
    ).toThrow(/needs readonly/);
  });

  test("image volumes get a private directory, never host / (CVE-2022-23648)", () => {
    const spec = buildContainerSpec(
      input(config(), { Cmd: ["sh"], Volumes: { "/var/lib/data": {}, "/": {} } }),
    );
    const volume = spec.mounts?.find((m) => m.destination === "/var/lib/data");
    expect(volume?.source).toBe("/var/lib/skiff/c1/volumes/var/lib/data");
    expect(spec.mounts?.some((m) => m.source === "/" || m.destination === "/")).toBe(false);
  });

  test("resources become OCI resources", () => {
    const spec = buildContainerSpec(
      input(
        config((c) => {
          c.linux = {
            security_context: null,
            resources: {
              cpu_period: "100000",
              cpu_quota: "50000",
              cpu_shares: "512",
              memory_limit_in_bytes: "67108864",
              oom_score_adj: "-998",
              cpuset_cpus: "0",
              cpuset_mems: "",
              hugepage_limits: [{ page_size: "2MB", limit: "0" }],
              unified: {},
              memory_swap_limit_in_bytes: "67108864",
            },
          } as never;
        }),
      ),
    );
    expect(spec.linux?.resources).toMatchObject({
      cpu: { shares: 512, quota: 50000, period: 100000, cpus: "0" },
      memory: { limit: 67108864, swap: 67108864 },
      hugepageLimits: [{ pageSize: "2MB", limit: 0 }],
    });
    expect(spec.process?.oomScoreAdj).toBe(-998);
  });

  test("seccomp: RuntimeDefault, legacy runtime/default, Localhost, Unconfined", () => {
    const withSeccomp = (change: (s: Record<string, unknown>) => void) =>
      buildContainerSpec(input(config((c) => change(security(c))))).linux?.seccomp;
    expect(
      withSeccomp((s) => (s["seccomp"] = { profile_type: "RuntimeDefault", localhost_ref: "" }))
        ?.defaultAction,
    ).toBe("SCMP_ACT_ERRNO");
    expect(withSeccomp((s) => (s["seccomp_profile_path"] = "runtime/default"))?.defaultAction).toBe(
      "SCMP_ACT_ERRNO",
    );
    expect(
      withSeccomp(
        (s) => (s["seccomp"] = { profile_type: "Localhost", localhost_ref: "/etc/p.json" }),
      )?.defaultAction,
    ).toBe("SCMP_ACT_ALLOW");
    expect(
      withSeccomp((s) => (s["seccomp"] = { profile_type: "Unconfined", localhost_ref: "" })),
    ).toBeUndefined();
    expect(() =>
      withSeccomp((s) => (s["seccomp"] = { profile_type: "Localhost", localhost_ref: "rel.json" })),
    ).toThrow(/must be an absolute path/);
  });

  test("AppArmor profiles are refused, not run unconfined; Unconfined is fine", () => {
    expect(() =>
      buildContainerSpec(
        input(
          config(
            (c) => (security(c)["apparmor"] = { profile_type: "Localhost", localhost_ref: "p" }),
          ),
        ),
      ),
    ).toThrow(/this kernel has no AppArmor/);
    // with AppArmor in the kernel too: skiff-shim cannot apply a profile, so it refuses
    expect(() =>
      buildContainerSpec({
        ...input(config((c) => (security(c)["apparmor_profile"] = "runtime/default"))),
        appArmorEnabled: true,
      }),
    ).toThrow(/cannot apply AppArmor profiles yet/);
    expect(() =>
      buildContainerSpec(
        input(
          config(
            (c) => (security(c)["apparmor"] = { profile_type: "Unconfined", localhost_ref: "" }),
          ),
        ),
      ),
    ).not.toThrow();
  });

  test("SELinux options: ignored without SELinux (as containerd), refused with it", () => {
    const label = { user: "system_u", role: "system_r", type: "container_t", level: "s0:c1,c2" };
    const labelled = config((c) => (security(c)["selinux_options"] = label));
    expect(() => buildContainerSpec(input(labelled))).not.toThrow();
    expect(() => buildContainerSpec({ ...input(labelled), selinuxEnabled: true })).toThrow(
      /selinux_options: label system_u:system_r:container_t:s0:c1,c2 requested, and Skiff cannot apply SELinux labels yet/,
    );
    const empty = config(
      (c) => (security(c)["selinux_options"] = { user: "", role: "", type: "", level: "" }),
    );
    expect(() => buildContainerSpec({ ...input(empty), selinuxEnabled: true })).not.toThrow();
  });

  test("host network and pid modes", () => {
    const i = input(
      config((c) => {
        security(c)["namespace_options"] = {
          network: "NODE",
          pid: "POD",
          ipc: "POD",
          target_id: "",
        };
      }),
    );
    i.sandbox.hostNetwork = true;
    expect(buildContainerSpec(i).linux?.namespaces).toEqual([
      { type: "mount" },
      { type: "ipc", path: "/proc/42/ns/ipc" },
      { type: "pid", path: "/proc/42/ns/pid" },
    ]);
  });

  test("devices are checked against the host", () => {
    const spec = buildContainerSpec(
      input(
        config(
          (c) =>
            (c.devices = [{ container_path: "/dev/f", host_path: "/dev/fuse", permissions: "rw" }]),
        ),
      ),
    );
    expect(spec.linux?.devices).toEqual([
      { path: "/dev/f", type: "c", major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 },
    ]);
    expect(spec.linux?.resources?.devices).toContainEqual({
      allow: true,
      type: "c",
      major: 10,
      minor: 229,
      access: "rw",
    });
    expect(() =>
      buildContainerSpec(
        input(
          config(
            (c) =>
              (c.devices = [{ container_path: "/dev/x", host_path: "/dev/nope", permissions: "" }]),
          ),
        ),
      ),
    ).toThrow(/not a device on this host/);
  });
});

test("mergeEnv overrides by key and keeps order", () => {
  expect(mergeEnv(["PATH=/x", "A=1"], ["A=2", "B"])).toEqual(["PATH=/x", "A=2", "B"]);
});

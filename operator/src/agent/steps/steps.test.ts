import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CommandResult, Host } from "../host.js";
import { installSkiff } from "./install.js";
import { applyKubelet, kubeletConfig } from "./kubelet.js";
import { applyModules } from "./modules.js";
import { checkSwap, swapDevices } from "./swap.js";
import { applySysctls } from "./sysctls.js";

let dir: string;
let calls: string[][];
let host: Host;
const answers = new Map<string, CommandResult>();

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "skiff-agent-steps-"));
  calls = [];
  answers.clear();
  mkdirSync(join(dir, "root"));
  mkdirSync(join(dir, "proc/sys/net/ipv4"), { recursive: true });
  mkdirSync(join(dir, "sys/module/overlay"), { recursive: true });
  writeFileSync(join(dir, "proc/sys/net/ipv4/ip_forward"), "0\n");
  writeFileSync(join(dir, "proc/swaps"), "Filename\tType\tSize\tUsed\tPriority\n");
  host = {
    root: join(dir, "root"),
    proc: join(dir, "proc"),
    sys: join(dir, "sys"),
    run: async (command, args) => {
      calls.push([command, ...args]);
      return answers.get(args.at(-1) ?? "") ?? { code: 0, stdout: "", stderr: "" };
    },
  };
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("modules", () => {
  test("a loaded module is not probed; a missing one is modprobed; each failure is its own step", async () => {
    answers.set("nope", {
      code: 1,
      stdout: "",
      stderr: "modprobe: FATAL: Module nope not found in directory /lib/modules/6.1.0\n",
    });
    const results = await applyModules(host, ["overlay", "br_netfilter", "nope"]);
    expect(calls).toEqual([
      ["modprobe", "--", "br_netfilter"],
      ["modprobe", "--", "nope"],
    ]);
    expect(results).toEqual([
      { name: "module/overlay", outcome: "Applied", message: "loaded" },
      { name: "module/br_netfilter", outcome: "Applied", message: "loaded with modprobe" },
      {
        name: "module/nope",
        outcome: "Failed",
        message:
          "modprobe nope failed (exit 1): modprobe: FATAL: Module nope not found in directory /lib/modules/6.1.0",
      },
      {
        name: "modules-load.d",
        outcome: "Applied",
        message: "wrote /etc/modules-load.d/skiff.conf",
      },
    ]);
    expect(readFileSync(join(host.root, "etc/modules-load.d/skiff.conf"), "utf8")).toContain(
      "overlay\nbr_netfilter\nnope\n",
    );
    expect((await applyModules(host, ["overlay", "br_netfilter", "nope"])).at(-1)?.message).toBe(
      "up to date",
    );
  });
});

describe("sysctls", () => {
  test("sets a value, reads it back, reports a missing key, keeps the sysctl.d file", async () => {
    const results = await applySysctls(host, {
      "net.ipv4.ip_forward": "1",
      "net.bridge.bridge-nf-call-iptables": "1",
    });
    expect(results).toEqual([
      {
        name: "sysctl/net.bridge.bridge-nf-call-iptables",
        outcome: "Failed",
        message:
          "net.bridge.bridge-nf-call-iptables does not exist on this kernel (is its module loaded?)",
      },
      { name: "sysctl/net.ipv4.ip_forward", outcome: "Applied", message: "set to 1 (was 0)" },
      { name: "sysctl.d", outcome: "Applied", message: "wrote /etc/sysctl.d/99-skiff.conf" },
    ]);
    expect(readFileSync(join(host.proc, "sys/net/ipv4/ip_forward"), "utf8")).toBe("1");
    expect(readFileSync(join(host.root, "etc/sysctl.d/99-skiff.conf"), "utf8")).toBe(
      "# Written by skiff node agent (NodeSetup).\nnet.bridge.bridge-nf-call-iptables = 1\nnet.ipv4.ip_forward = 1\n",
    );
    expect((await applySysctls(host, { "net.ipv4.ip_forward": "1" }))[0]?.message).toBe(
      "already 1",
    );
  });

  test("refuses names and values that could escape (CVE-2022-0811)", async () => {
    const results = await applySysctls(host, {
      "net.ipv4.ip_forward": "1\nkernel.core_pattern=|/tmp/x",
      "../../etc/passwd": "1",
    });
    expect(results.slice(0, 2).map((r) => [r.name, r.outcome, r.message])).toEqual([
      ["sysctl/../../etc/passwd", "Failed", "invalid sysctl name"],
      ["sysctl/net.ipv4.ip_forward", "Failed", "invalid sysctl value"],
    ]);
    expect(readFileSync(join(host.proc, "sys/net/ipv4/ip_forward"), "utf8")).toBe("0\n");
    expect(readFileSync(join(host.root, "etc/sysctl.d/99-skiff.conf"), "utf8")).not.toContain(
      "core_pattern",
    );
  });
});

describe("swap", () => {
  test("parses /proc/swaps and applies the policy", async () => {
    expect(
      swapDevices(
        "Filename Type Size Used Priority\n/dev/sda2 partition 1 0 -2\n/swapfile file 1 0 -3\n",
      ),
    ).toEqual(["/dev/sda2", "/swapfile"]);
    expect(await checkSwap(host, "Fail")).toEqual({
      name: "swap",
      outcome: "Applied",
      message: "swap is off",
    });
    writeFileSync(join(host.proc, "swaps"), "Filename\tType\n/dev/sda2\tpartition\t1\t0\t-2\n");
    expect((await checkSwap(host, "Fail")).outcome).toBe("Failed");
    expect((await checkSwap(host, "Warn")).outcome).toBe("Warning");
    expect((await checkSwap(host, "Ignore")).outcome).toBe("Skipped");
  });
});

describe("kubelet and install", () => {
  test("the kubelet drop-in is a KubeletConfiguration with the CRI endpoint", async () => {
    const spec = { modules: [], sysctls: {}, swap: { policy: "Fail" as const } };
    expect((await applyKubelet(host, spec)).outcome).toBe("Skipped");
    const k = {
      containerRuntimeEndpoint: "unix:///run/skiff/cri.sock",
      cgroupDriver: "cgroupfs" as const,
      failCgroupV1: false,
    };
    expect((await applyKubelet(host, { ...spec, kubelet: k })).outcome).toBe("Applied");
    expect(
      readFileSync(join(host.root, "etc/kubernetes/kubelet.conf.d/50-skiff.conf"), "utf8"),
    ).toBe(kubeletConfig(k));
    expect(kubeletConfig(k)).toContain(
      "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n",
    );
  });

  test("installs a version, upgrades by switching the link, writes the unit only where systemd runs", async () => {
    const source = join(dir, "release");
    mkdirSync(join(source, "bin"), { recursive: true });
    writeFileSync(join(source, "bin/skiff-cri"), "v1");
    const spec = (version: string) => ({
      modules: [],
      sysctls: {},
      swap: { policy: "Fail" as const },
      skiff: { install: true, version },
    });
    const first = await installSkiff(host, spec("v1"), source);
    expect(first.map((r) => [r.name, r.outcome, r.message])).toEqual([
      ["skiff-install", "Applied", "installed v1"],
      [
        "skiff-unit",
        "Skipped",
        "the host does not run systemd; start /opt/skiff/current/bin/skiff-cri another way",
      ],
    ]);
    expect((await installSkiff(host, spec("v1"), source))[0]?.message).toBe("version v1 installed");
    mkdirSync(join(host.root, "run/systemd/system"), { recursive: true });
    const second = await installSkiff(host, spec("v2"), source);
    expect(second[0]?.message).toBe("upgraded from v1 to v2");
    expect(readlinkSync(join(host.root, "opt/skiff/current"))).toBe("v2");
    expect(second[1]?.outcome).toBe("Applied");
    expect(readFileSync(join(host.root, "etc/systemd/system/skiff-cri.service"), "utf8")).toContain(
      "ExecStart=/opt/skiff/current/bin/skiff-cri",
    );
    expect((await installSkiff(host, spec("v3"), join(dir, "missing")))[0]?.outcome).toBe("Failed");
  });
});

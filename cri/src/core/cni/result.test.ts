import { describe, expect, test } from "@jest/globals";
import { ResultError, parseResult, podIps, resultForVersion } from "./result.js";

const v040 = {
  cniVersion: "0.4.0",
  interfaces: [
    { name: "cni0", mac: "aa:bb:cc:dd:ee:01" },
    { name: "veth1", mac: "aa:bb:cc:dd:ee:02" },
    { name: "eth0", mac: "aa:bb:cc:dd:ee:03", sandbox: "/run/netns/p" },
  ],
  ips: [
    { version: "4", address: "10.1.0.5/24", gateway: "10.1.0.1", interface: 2 },
    { version: "6", address: "fd00::5/64", gateway: "fd00::1", interface: 2 },
  ],
  routes: [{ dst: "0.0.0.0/0" }],
  dns: { nameservers: ["10.96.0.10"], search: ["svc.cluster.local"] },
};

describe("parsing results of every version into the current shape", () => {
  test("0.4.0 / 0.3.x: the ips' version field is dropped", () => {
    const r = parseResult(v040, "0.4.0");
    expect(r.cniVersion).toBe("0.4.0");
    expect(r.ips).toEqual([
      { address: "10.1.0.5/24", gateway: "10.1.0.1", interface: 2 },
      { address: "fd00::5/64", gateway: "fd00::1", interface: 2 },
    ]);
    expect(r.interfaces?.[2]).toEqual({
      name: "eth0",
      mac: "aa:bb:cc:dd:ee:03",
      sandbox: "/run/netns/p",
    });
    expect(r.dns).toEqual({ nameservers: ["10.96.0.10"], search: ["svc.cluster.local"] });
  });

  test("0.2.0: ip4/ip6 become ips and routes", () => {
    const r = parseResult(
      {
        cniVersion: "0.2.0",
        ip4: {
          ip: "10.2.0.7/16",
          gateway: "10.2.0.1",
          routes: [{ dst: "0.0.0.0/0", gw: "10.2.0.1" }],
        },
        ip6: { ip: "fd01::7/64" },
        dns: { nameservers: ["1.1.1.1"] },
      },
      "0.2.0",
    );
    expect(r).toEqual({
      cniVersion: "0.2.0",
      ips: [{ address: "10.2.0.7/16", gateway: "10.2.0.1" }, { address: "fd01::7/64" }],
      routes: [{ dst: "0.0.0.0/0", gw: "10.2.0.1" }],
      dns: { nameservers: ["1.1.1.1"] },
    });
  });

  test("1.1.0 fields on interfaces and routes are kept; a missing cniVersion is the config's", () => {
    const r = parseResult(
      {
        interfaces: [
          { name: "eth0", mtu: 1400, sandbox: "/x", socketPath: "/s", pciID: "0000:00:01.0" },
        ],
        ips: [{ address: "10.3.0.2/24", interface: 0 }],
        routes: [
          { dst: "10.0.0.0/8", gw: "10.3.0.1", mtu: 1300, priority: 5, table: 100, scope: 0 },
        ],
      },
      "1.1.0",
    );
    expect(r.cniVersion).toBe("1.1.0");
    expect(r.interfaces?.[0]).toEqual({
      name: "eth0",
      mtu: 1400,
      sandbox: "/x",
      socketPath: "/s",
      pciID: "0000:00:01.0",
    });
    expect(r.routes?.[0]).toEqual({
      dst: "10.0.0.0/8",
      gw: "10.3.0.1",
      mtu: 1300,
      priority: 5,
      table: 100,
      scope: 0,
    });
  });

  test("malformed results are refused with the field named", () => {
    expect(() => parseResult([], "1.0.0")).toThrow(ResultError);
    expect(() => parseResult({ cniVersion: "3.0.0" }, "1.0.0")).toThrow(/not supported/);
    expect(() => parseResult({ ips: [{ address: "10.0.0.1" }] }, "1.0.0")).toThrow(
      'ips[0].address "10.0.0.1" is not an address in CIDR notation',
    );
    expect(() => parseResult({ ips: [{ address: "10.0.0.1/24", interface: 3 }] }, "1.0.0")).toThrow(
      /ips\[0\]\.interface 3 names no interface/,
    );
    expect(() => parseResult({ routes: [{ dst: "x" }] }, "1.0.0")).toThrow(/routes\[0\]\.dst/);
  });
});

describe("results for a config version (prevResult)", () => {
  test("0.3.x and 0.4.0 get the ips' version field back; 1.0.0 does not", () => {
    const current = parseResult(v040, "0.4.0");
    expect(resultForVersion(current, "0.4.0")).toEqual(v040);
    const v1 = resultForVersion(current, "1.0.0") as { cniVersion: string; ips: object[] };
    expect(v1.cniVersion).toBe("1.0.0");
    expect(v1.ips[0]).toEqual({ address: "10.1.0.5/24", gateway: "10.1.0.1", interface: 2 });
  });
});

describe("pod IPs", () => {
  test("the addresses on the pod's interface, IPv4 first, without prefix", () => {
    const r = parseResult(
      {
        ...v040,
        ips: [
          { version: "6", address: "fd00::5/64", interface: 2 },
          { version: "4", address: "192.168.9.1/24", interface: 0 },
          { version: "4", address: "10.1.0.5/24", interface: 2 },
        ],
      },
      "0.4.0",
    );
    expect(podIps(r, "eth0")).toEqual(["10.1.0.5", "fd00::5"]);
  });

  test("with no interfaces named, every ip is the pod's", () => {
    expect(podIps(parseResult({ ips: [{ address: "10.1.0.9/24" }] }, "1.0.0"), "eth0")).toEqual([
      "10.1.0.9",
    ]);
  });
});

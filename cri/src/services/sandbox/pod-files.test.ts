import { expect, test } from "@jest/globals";
import { checkHostname, hostsFile, resolvConf } from "./pod-files.js";

test("resolv.conf from the pod's DNS config", () => {
  expect(
    resolvConf({
      servers: ["10.96.0.10"],
      searches: ["ns.svc.cluster.local", "svc.cluster.local"],
      options: ["ndots:5"],
    }),
  ).toBe("search ns.svc.cluster.local svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n");
  expect(resolvConf(null)).toBeUndefined();
  expect(resolvConf({ servers: [], searches: [], options: [] })).toBeUndefined();
});

test("a DNS value cannot inject another line", () => {
  expect(() =>
    resolvConf({ servers: ["1.1.1.1\nnameserver 6.6.6.6"], searches: [], options: [] }),
  ).toThrow(/dns_config.servers/);
});

test("/etc/hosts names the pod's IPs", () => {
  expect(hostsFile("web-0", ["10.1.0.5"])).toContain("10.1.0.5\tweb-0\n");
  expect(hostsFile("web-0", [])).toMatch(/^127\.0\.0\.1\tlocalhost\n/);
});

test("host names are checked", () => {
  expect(() => checkHostname("ok-name.example")).not.toThrow();
  expect(() => checkHostname("bad_name")).toThrow(/not a valid host name/);
  expect(() => checkHostname("x".repeat(65))).toThrow();
});

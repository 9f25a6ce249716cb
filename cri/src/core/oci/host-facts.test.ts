import { expect, test } from "@jest/globals";
import { readFile } from "node:fs/promises";

import { realHostFacts } from "./host-facts.js";

// These read the real /proc and /sys but need no root.

test("capLastCap is the kernel's /proc/sys/kernel/cap_last_cap", async () => {
  const expected = Number((await readFile("/proc/sys/kernel/cap_last_cap", "utf8")).trim());
  expect(await realHostFacts().capLastCap()).toBe(expected);
});

test("namespaceFile tells namespace files, other files and missing paths apart", async () => {
  const facts = realHostFacts();
  const net = await facts.namespaceFile("/proc/self/ns/net");
  expect(typeof net === "object" && net.type).toBe("network");
  expect(typeof net === "object" && net.id).toBe(await facts.hostNamespaceId("network"));
  const mnt = await facts.namespaceFile("/proc/self/ns/mnt");
  expect(typeof mnt === "object" && mnt.type).toBe("mount");
  expect(await facts.namespaceFile("/proc/self/status")).toBe("not-namespace");
  expect(await facts.namespaceFile("/nonexistent/skiff/ns")).toBe("missing");
});

test("pathKind follows symlinks and reports absence", async () => {
  const facts = realHostFacts();
  expect(await facts.pathKind("/proc")).toBe("directory");
  expect(await facts.pathKind("/proc/self/status")).toBe("file");
  expect(await facts.pathKind("/dev/null")).toBe("other");
  expect(await facts.pathKind("/nonexistent/skiff")).toBeUndefined();
});

test("filesystems lists /proc/filesystems", async () => {
  const fs = await realHostFacts().filesystems();
  expect(fs.has("proc")).toBe(true);
  expect(fs.has("tmpfs")).toBe(true);
  expect(fs.has("nodev")).toBe(false);
});

test("AppArmor is reported as the kernel has it", async () => {
  const enabled = await readFile("/sys/module/apparmor/parameters/enabled", "utf8").then(
    (t) => t.trim() === "Y",
    () => false,
  );
  const securityfs = await readFile("/sys/kernel/security/apparmor/profiles", "utf8").then(
    () => true,
    () => false,
  );
  const facts = realHostFacts();
  if (!enabled) expect(await facts.appArmorEnabled()).toBe(false);
  else if (securityfs) expect(await facts.appArmorEnabled()).toBe(true);
});

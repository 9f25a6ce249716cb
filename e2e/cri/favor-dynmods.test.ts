/**
 * skiff-cri --cgroup-favor-dynmods: cgroup2 carries favordynmods while the daemon runs,
 * and the mount is as it was once the daemon stops (or when it was on already, stays on).
 */
import { afterAll, describe, expect, test } from "@jest/globals";
import { readFileSync } from "node:fs";
import { cgroup2Mount } from "../../cri/src/core/cgroups/favor-dynmods.js";
import { rpc } from "../../cri/src/cli/client.js";
import { removeDirs, startDaemon, tempDirs, type RunningDaemon } from "../harness/skiff-cri.js";

const mount = () => cgroup2Mount(readFileSync("/proc/self/mountinfo", "utf8"));
const dirs = tempDirs();
let daemon: RunningDaemon | undefined;

afterAll(async () => {
  await daemon?.stop();
  removeDirs(dirs);
});

describe("--cgroup-favor-dynmods", () => {
  test("on while skiff-cri runs, as it was after", async () => {
    const before = mount();
    expect(before).toBeDefined();
    daemon = await startDaemon(dirs, ["--cgroup-favor-dynmods"]);
    await rpc(daemon.clients.runtime, "Version", {});
    expect(mount()?.options).toContain("favordynmods");
    await daemon.stop();
    daemon = undefined;
    expect(mount()).toEqual(before);
  });
});

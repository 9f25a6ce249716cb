import { describe, expect, test } from "@jest/globals";
import { cgroup2Mount } from "./favor-dynmods.js";

describe("cgroup2Mount", () => {
  test("finds the cgroup2 mount and its own options, without rw", () => {
    const info = [
      "31 1 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
      "32 31 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot",
    ].join("\n");
    expect(cgroup2Mount(info)).toEqual({
      mountPoint: "/sys/fs/cgroup/unified",
      options: ["nsdelegate", "memory_recursiveprot"],
    });
  });
  test("optional fields before the separator, a bare rw, no cgroup2 at all", () => {
    expect(
      cgroup2Mount("29 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw"),
    ).toEqual({ mountPoint: "/sys/fs/cgroup", options: [] });
    expect(cgroup2Mount("22 1 0:5 / /dev rw - devtmpfs udev rw")).toBeUndefined();
  });
});

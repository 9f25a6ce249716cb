import { describe, expect, test } from "@jest/globals";
import { parseOptions } from "./options.js";

describe("options", () => {
  test("defaults, environment and flags", () => {
    const o = parseOptions([], { POD_NAMESPACE: "ops", POD_NAME: "skiff-operator-abc" });
    expect(o).toMatchObject({
      mode: "controllers",
      namespace: "ops",
      identity: "skiff-operator-abc",
      metricsPort: 8080,
      leaderElect: true,
    });
    expect(o.settings.namespace).toBe("ops");
    const a = parseOptions(["--node-agent", "--host-root=/h", "--metrics-addr=127.0.0.1:0"], {
      NODE_NAME: "n1",
    });
    expect(a).toMatchObject({
      mode: "agent",
      nodeName: "n1",
      hostRoot: "/h",
      procRoot: "/h/proc",
      sysRoot: "/h/sys",
      metricsHost: "127.0.0.1",
      metricsPort: 0,
      resyncMs: 60_000,
    });
  });

  test("refuses unknown flags and inconsistent timings", () => {
    expect(() => parseOptions(["--nope"], {})).toThrow("unknown flag --nope");
    expect(() => parseOptions(["--node-agent"], {})).toThrow("--node-agent needs --node-name");
    expect(() => parseOptions(["--lease-duration=5", "--renew-deadline=5"], {})).toThrow(
      "--renew-deadline must be shorter",
    );
    expect(() => parseOptions(["--log-level=loud"], {})).toThrow("--log-level");
  });
});

/**
 * Kernel modules: each is loaded now (modprobe, unless /sys/module/<name> shows it is
 * loaded or built in) and listed in /etc/modules-load.d/skiff.conf for boot. A module
 * the kernel lacks fails its own step with modprobe's message.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { hostPath, writeIfChanged, type Host } from "../host.js";
import { applied, failed, guard, type StepResult } from "./step.js";

export async function applyModules(host: Host, modules: string[]): Promise<StepResult[]> {
  const results: StepResult[] = [];
  for (const m of modules) {
    const name = `module/${m}`;
    results.push(
      await guard(name, async () => {
        if (!/^[a-zA-Z0-9_-]+$/.test(m))
          return failed(name, `invalid module name ${JSON.stringify(m)}`);
        if (existsSync(join(host.sys, "module", m.replace(/-/g, "_"))))
          return applied(name, "loaded");
        const r = await host.run("modprobe", ["--", m]);
        if (r.code !== 0)
          return failed(
            name,
            `modprobe ${m} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim() || "no output"}`,
          );
        return applied(name, "loaded with modprobe");
      }),
    );
  }
  results.push(
    await guard("modules-load.d", () => {
      const path = hostPath(host, "/etc/modules-load.d/skiff.conf");
      const content = `# Written by skiff node agent (NodeSetup).\n${modules.join("\n")}\n`;
      return applied(
        "modules-load.d",
        writeIfChanged(path, content)
          ? `wrote ${path.slice(host.root.length) || path}`
          : "up to date",
      );
    }),
  );
  return results;
}

/**
 * Sysctls: each is written now under /proc/sys (dots become slashes) and read back, and
 * all are kept in /etc/sysctl.d/99-skiff.conf for boot. Names and values are checked
 * again here (CVE-2022-0811: no value may smuggle a second assignment).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { errnoCode } from "../../../../cri/src/core/errors.js";
import { hostPath, writeIfChanged, type Host } from "../host.js";
import { applied, failed, guard, type StepResult } from "./step.js";

const namePattern = /^[a-z0-9_]+([./][a-z0-9_-]+)+$/;
const valuePattern = /^[-0-9a-zA-Z_. \t:/]*$/;

export const sysctlPath = (host: Host, name: string): string =>
  join(host.proc, "sys", ...name.split(/[./]/));

export async function applySysctls(
  host: Host,
  sysctls: Record<string, string>,
): Promise<StepResult[]> {
  const results: StepResult[] = [];
  const entries = Object.entries(sysctls).sort(([a], [b]) => a.localeCompare(b));
  for (const [key, value] of entries) {
    const name = `sysctl/${key}`;
    results.push(
      await guard(name, () => {
        if (!namePattern.test(key) || key.includes(".."))
          return failed(name, "invalid sysctl name");
        if (!valuePattern.test(value)) return failed(name, "invalid sysctl value");
        const path = sysctlPath(host, key);
        let current: string;
        try {
          current = readFileSync(path, "utf8").trim();
        } catch (err) {
          if (errnoCode(err) === "ENOENT")
            return failed(name, `${key} does not exist on this kernel (is its module loaded?)`);
          throw err;
        }
        if (current.split(/\s+/).join(" ") === value.trim().split(/\s+/).join(" "))
          return applied(name, `already ${value}`);
        try {
          writeFileSync(path, value);
        } catch (err) {
          return failed(name, `writing ${key}=${value}: ${errnoCode(err) ?? String(err)}`);
        }
        const after = readFileSync(path, "utf8").trim();
        if (after.split(/\s+/).join(" ") !== value.trim().split(/\s+/).join(" "))
          return failed(name, `wrote ${value} but the kernel reports ${after}`);
        return applied(name, `set to ${value} (was ${current})`);
      }),
    );
  }
  results.push(
    await guard("sysctl.d", () => {
      const valid = entries.filter(([k, v]) => namePattern.test(k) && valuePattern.test(v));
      const content = `# Written by skiff node agent (NodeSetup).\n${valid.map(([k, v]) => `${k} = ${v}`).join("\n")}\n`;
      const path = hostPath(host, "/etc/sysctl.d/99-skiff.conf");
      return applied(
        "sysctl.d",
        writeIfChanged(path, content) ? "wrote /etc/sysctl.d/99-skiff.conf" : "up to date",
      );
    }),
  );
  return results;
}

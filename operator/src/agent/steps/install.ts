/**
 * Skiff's installation on the host: the agent image carries the release under
 * `source` (bin/, dist/, node); it is copied to /opt/skiff/<version> and
 * /opt/skiff/current points at it (upgrade = a new version dir + a new link). Where the
 * host runs systemd, a skiff-cri.service unit is written too.
 */
import { cpSync, existsSync, readlinkSync, renameSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import type { NodeSetupSpec } from "../../apis/v1alpha1/node-setup.js";
import { hostPath, writeIfChanged, type Host } from "../host.js";
import { applied, failed, guard, skipped, type StepResult } from "./step.js";

export const unit = `# Written by skiff node agent (NodeSetup).
[Unit]
Description=Skiff container runtime (CRI)
After=network-online.target local-fs.target
[Service]
ExecStart=/opt/skiff/current/bin/skiff-cri
Restart=always
Delegate=yes
KillMode=process
OOMScoreAdjust=-999
LimitNOFILE=1048576
[Install]
WantedBy=multi-user.target
`;

export async function installSkiff(
  host: Host,
  spec: NodeSetupSpec,
  source: string | undefined,
): Promise<StepResult[]> {
  if (!spec.skiff?.install) return [skipped("skiff-install", "spec.skiff.install is not true")];
  const version = spec.skiff.version ?? "";
  const results: StepResult[] = [];
  results.push(
    await guard("skiff-install", () => {
      if (!/^[A-Za-z0-9._-]+$/.test(version))
        return failed("skiff-install", `invalid version ${JSON.stringify(version)}`);
      if (!source || !existsSync(source))
        return failed(
          "skiff-install",
          `the agent has no Skiff release to install (--install-source ${source ?? "unset"})`,
        );
      const target = hostPath(host, `/opt/skiff/${version}`);
      const link = hostPath(host, "/opt/skiff/current");
      let current: string | undefined;
      try {
        current = readlinkSync(link);
      } catch {
        // not installed
      }
      if (current === version && existsSync(target))
        return applied("skiff-install", `version ${version} installed`);
      if (!existsSync(target))
        cpSync(source, target, { recursive: true, preserveTimestamps: true });
      const tmp = `${link}.tmp`;
      symlinkSync(version, tmp);
      renameSync(tmp, link);
      return applied(
        "skiff-install",
        current ? `upgraded from ${current} to ${version}` : `installed ${version}`,
      );
    }),
  );
  results.push(
    await guard("skiff-unit", () => {
      if (!existsSync(join(host.root, "run/systemd/system")))
        return skipped(
          "skiff-unit",
          "the host does not run systemd; start /opt/skiff/current/bin/skiff-cri another way",
        );
      const changed = writeIfChanged(hostPath(host, "/etc/systemd/system/skiff-cri.service"), unit);
      return applied(
        "skiff-unit",
        changed ? "wrote skiff-cri.service (systemctl daemon-reload to load it)" : "up to date",
      );
    }),
  );
  return results;
}

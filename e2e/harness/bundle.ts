/** OCI bundles for tests and benchmarks, built offline from Debian's busybox-static. */
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defaultSpec } from "../../cri/src/core/oci/defaults.js";
import type { Spec } from "../../cri/src/core/oci/spec.js";

const applets = [
  "sh",
  "cat",
  "echo",
  "sleep",
  "true",
  "false",
  "hostname",
  "ls",
  "id",
  "grep",
  "wc",
  "head",
  "touch",
  "stat",
  "readlink",
];

/** dir/rootfs with busybox and its applet links; dir/config.json from `spec`. */
export function busyboxBundle(dir: string, spec: Spec = defaultSpec({ terminal: false })): string {
  const rootfs = join(dir, "rootfs");
  for (const d of ["bin", "proc", "sys", "dev", "tmp", "etc", "root"])
    mkdirSync(join(rootfs, d), { recursive: true });
  chmodSync(dir, 0o755);
  copyFileSync("/bin/busybox", join(rootfs, "bin", "busybox"));
  chmodSync(join(rootfs, "bin", "busybox"), 0o755);
  for (const a of applets) symlinkSync("busybox", join(rootfs, "bin", a));
  writeFileSync(
    join(rootfs, "etc", "passwd"),
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n",
  );
  writeSpec(dir, spec);
  return dir;
}

export function writeSpec(dir: string, spec: Spec): void {
  writeFileSync(join(dir, "config.json"), JSON.stringify(spec, null, 2));
}

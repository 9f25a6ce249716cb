/**
 * Test hook: SKIFF_TEST_CRASH_AT=<point> makes skiff-cri SIGKILL itself when it reaches
 * that point, so the e2e tests can check that recovery rolls back or re-adopts what a
 * crash left. Only tests set it; unset (production), crashPoint() does nothing.
 *
 * Points of RunPodSandbox, in order: sandbox:after-reserve (the "creating" row is
 * written), sandbox:after-netns, sandbox:after-cni (ADD done), sandbox:after-infra (the
 * infra process and its monitor were spawned), sandbox:after-ready (the finished row
 * is written). Of CreateContainer: container:after-rootfs (row, snapshot and rootfs
 * mount made), container:after-shim (the monitor and the waiting process spawned). Of
 * StopContainer: container:after-stop-signal (the stop signal sent, the grace running).
 */
export const sandboxCrashPoints = [
  "sandbox:after-reserve",
  "sandbox:after-netns",
  "sandbox:after-cni",
  "sandbox:after-infra",
  "sandbox:after-ready",
] as const;

export const containerCrashPoints = [
  "container:after-rootfs",
  "container:after-shim",
  "container:after-stop-signal",
] as const;

export type CrashPoint =
  (typeof sandboxCrashPoints)[number] | (typeof containerCrashPoints)[number];

export function crashPoint(point: CrashPoint): void {
  if (process.env["SKIFF_TEST_CRASH_AT"] === point) process.kill(process.pid, "SIGKILL");
}

/** skiff-oci as a runc user meets it: the same verbs, flags, output and exit codes. */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultSpec } from "../../cri/src/core/oci/defaults.js";
import { bin } from "../harness/skiff-cri.js";
import { busyboxBundle, writeSpec } from "../harness/bundle.js";
import { removeCgroupTree } from "../harness/cgroups.js";

let work: string;
let bundle: string;
let root: string;
const cgroupBase = `skiff-test-oci-${process.pid}`;

const oci = (...args: string[]) =>
  spawnSync(bin("skiff-oci"), ["--root", root, ...args], { encoding: "utf8", timeout: 30_000 });

function useSpec(
  args: string[],
  change: (s: ReturnType<typeof defaultSpec>) => void = () => undefined,
): void {
  const spec = defaultSpec({ args, terminal: false });
  spec.linux!.cgroupsPath = `${cgroupBase}/c`;
  change(spec);
  writeSpec(bundle, spec);
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "skiff-oci-e2e-"));
  bundle = busyboxBundle(join(work, "bundle"));
  root = join(work, "state");
});

afterAll(() => {
  for (const id of ["a", "b", "c", "d", "e"]) oci("delete", "--force", id);
  rmSync(work, { recursive: true, force: true });
  removeCgroupTree(cgroupBase);
});

describe("skiff-oci", () => {
  test("spec writes a default config.json and refuses to overwrite it", () => {
    const dir = join(work, "specdir");
    spawnSync("mkdir", [dir]);
    expect(oci("spec", "--bundle", dir).status).toBe(0);
    const spec = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    expect(spec.ociVersion).toMatch(/^1\./);
    expect(spec.process.args).toEqual(["sh"]);
    const again = oci("spec", "--bundle", dir);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain("already exists");
  });

  test("run: output on our stdio, the container's exit code as ours, nothing left", () => {
    useSpec(["sh", "-c", "echo out; echo err >&2; hostname; exit 5"]);
    const result = oci("run", "-b", bundle, "a");
    expect(result.stdout).toBe("out\nskiff\n");
    expect(result.stderr).toBe("err\n");
    expect(result.status).toBe(5);
    expect(existsSync(join(root, "a"))).toBe(false);
  });

  test("run passes stdin through", () => {
    useSpec(["cat"]);
    const result = spawnSync(bin("skiff-oci"), ["--root", root, "run", "-b", bundle, "a"], {
      input: "piped\n",
      encoding: "utf8",
    });
    expect(result.stdout).toBe("piped\n");
    expect(result.status).toBe(0);
  });

  test("create, state, start, kill, delete, with --pid-file", () => {
    useSpec(["sleep", "1000"]);
    const pidFile = join(work, "pid");
    expect(oci("create", "-b", bundle, "--pid-file", pidFile, "b").status).toBe(0);
    const created = JSON.parse(oci("state", "b").stdout);
    expect(created).toMatchObject({ id: "b", status: "created", bundle });
    expect(Number(readFileSync(pidFile, "utf8"))).toBe(created.pid);
    expect(oci("start", "b").status).toBe(0);
    expect(JSON.parse(oci("state", "b").stdout).status).toBe("running");
    expect(oci("list").stdout).toMatch(
      /^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER\nb\s+\d+\s+running/,
    );
    expect(oci("list", "-q").stdout).toBe("b\n");
    const refused = oci("delete", "b");
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("running");
    expect(oci("kill", "b", "KILL").status).toBe(0);
    for (let i = 0; i < 50 && JSON.parse(oci("state", "b").stdout).status !== "stopped"; i++)
      spawnSync("sleep", ["0.1"]);
    expect(JSON.parse(oci("state", "b").stdout).status).toBe("stopped");
    expect(oci("delete", "b").status).toBe(0);
    const gone = oci("state", "b");
    expect(gone.status).toBe(1);
    expect(gone.stderr).toContain("container b not found");
  });

  test("exec runs in the container, with its exit code", () => {
    useSpec(["sleep", "1000"], (s) => (s.hostname = "execbox"));
    expect(oci("run", "-d", "-b", bundle, "c").status).toBe(0);
    const result = oci("exec", "c", "sh", "-c", "hostname; exit 4");
    expect(result.stdout).toBe("execbox\n");
    expect(result.status).toBe(4);
    expect(oci("delete", "-f", "c").status).toBe(0);
  });

  test("exec -d returns once the process runs; --pid-file names it", () => {
    useSpec(["sleep", "1000"]);
    expect(oci("run", "-d", "-b", bundle, "c").status).toBe(0);
    const pidFile = join(work, "exec.pid");
    const started = Date.now();
    // as with runc, the process keeps the stdio it was given: not our pipes here
    const result = spawnSync(
      bin("skiff-oci"),
      ["--root", root, "exec", "-d", "--pid-file", pidFile, "c", "sleep", "77"],
      { stdio: "ignore", timeout: 30_000 },
    );
    expect(result.status).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    const pid = Number(readFileSync(pidFile, "utf8"));
    // the detached process is in the container, running what we asked
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toBe("sleep\u000077\u0000");
    const containerPid = JSON.parse(oci("state", "c").stdout).pid as number;
    expect(readlinkSync(`/proc/${pid}/ns/pid`)).toBe(readlinkSync(`/proc/${containerPid}/ns/pid`));
    expect(oci("delete", "-f", "c").status).toBe(0);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
  });

  test("bad input: a clear error and nothing left", () => {
    useSpec(["true"], (s) => (s.process!.capabilities!.bounding = ["CAP_NOPE"]));
    const bad = oci("create", "-b", bundle, "d");
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("process.capabilities.bounding[0]");
    expect(existsSync(join(root, "d"))).toBe(false);
    const noBundle = oci("create", "-b", join(work, "missing"), "d");
    expect(noBundle.status).toBe(1);
    expect(noBundle.stderr).toContain(join(work, "missing", "config.json"));
    expect(oci("create", "-b", bundle, "bad/id").stderr).toContain("container id");
    expect(oci("frob").status).toBe(2);
    expect(oci("--version").stdout).toContain("skiff-oci version");
  });
});

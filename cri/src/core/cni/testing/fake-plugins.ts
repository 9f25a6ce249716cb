/**
 * A recording fake CNI plugin for tests that need no root: a /bin/sh script installed
 * under any plugin name in a temp bin dir. Each call appends one line to `calls.log`:
 * name, CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS (or "-" when unset), CNI_IFNAME,
 * CNI_ARGS, CNI_PATH and the stdin JSON, tab-separated. What it prints and how it exits
 * is read from files the test writes: `<name>.<COMMAND>.out` (stdout), `<name>.<COMMAND>.rc`
 * (exit status), `<name>.sleep` (seconds to sleep first).
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface RecordedCall {
  plugin: string;
  command: string;
  containerId: string;
  netns: string | undefined;
  ifName: string;
  args: string;
  path: string;
  stdin: Record<string, unknown>;
}

const script = (dir: string) => `#!/bin/sh
d='${dir}'
n=$(basename "$0")
if [ -f "$d/$n.sleep" ]; then sleep "$(cat "$d/$n.sleep")"; fi
line=$(
  printf '%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t%s\\t' "$n" "$CNI_COMMAND" "$CNI_CONTAINERID" "\${CNI_NETNS--}" "$CNI_IFNAME" "$CNI_ARGS" "$CNI_PATH"
  tr -d '\\n'
)
# one write, so concurrent calls do not interleave their lines
printf '%s\\n' "$line" >> "$d/calls.log"
if [ -f "$d/$n.$CNI_COMMAND.out" ]; then cat "$d/$n.$CNI_COMMAND.out"; fi
if [ -f "$d/$n.$CNI_COMMAND.rc" ]; then exit "$(cat "$d/$n.$CNI_COMMAND.rc")"; fi
exit 0
`;

export class FakePlugins {
  constructor(readonly dir: string) {}

  install(...names: string[]): void {
    for (const name of names) {
      const path = join(this.dir, name);
      writeFileSync(path, script(this.dir));
      chmodSync(path, 0o755);
    }
  }

  /** What `name` prints on `command` (a JSON value or raw text), and its exit status. */
  answer(name: string, command: string, output: unknown, exitCode = 0): void {
    const text = typeof output === "string" ? output : JSON.stringify(output);
    writeFileSync(join(this.dir, `${name}.${command}.out`), text);
    writeFileSync(join(this.dir, `${name}.${command}.rc`), String(exitCode));
  }

  sleep(name: string, seconds: number): void {
    writeFileSync(join(this.dir, `${name}.sleep`), String(seconds));
  }

  calls(): RecordedCall[] {
    const log = join(this.dir, "calls.log");
    if (!existsSync(log)) return [];
    return readFileSync(log, "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((line) => {
        const [plugin, command, containerId, netns, ifName, args, path, stdin] = line.split("\t");
        return {
          plugin: plugin ?? "",
          command: command ?? "",
          containerId: containerId ?? "",
          netns: netns === "-" ? undefined : netns,
          ifName: ifName ?? "",
          args: args ?? "",
          path: path ?? "",
          stdin: JSON.parse(stdin ?? "{}") as Record<string, unknown>,
        };
      });
  }

  clearCalls(): void {
    writeFileSync(join(this.dir, "calls.log"), "");
  }
}

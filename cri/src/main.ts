/** skiff-cri: parse flags → start the daemon → serve until SIGTERM/SIGINT. No logic here. */
import { createLogger } from "./core/log.js";
import { SkiffError } from "./core/errors.js";
import { skiffVersion } from "./core/version.js";
import { Daemon } from "./daemon/daemon.js";
import { parseDaemonArgs, usage } from "./daemon/options.js";

async function main(): Promise<number> {
  let command;
  try {
    command = parseDaemonArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`skiff-cri: ${(err as Error).message}\n${usage}\n`);
    return 2;
  }
  if (command.kind === "help") {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (command.kind === "version") {
    process.stdout.write(`skiff-cri ${skiffVersion}\n`);
    return 0;
  }
  const log = createLogger(command.options.logLevel, "skiff-cri");
  let daemon: Daemon;
  try {
    daemon = await Daemon.start(command.options, log);
  } catch (err) {
    const message = err instanceof SkiffError ? err.message : String((err as Error).stack ?? err);
    process.stderr.write(`skiff-cri: ${message}\n`);
    return 1;
  }
  process.on("SIGHUP", () => daemon.reloadConfig());
  await new Promise<void>((resolve) => {
    const stop = () => void daemon.stop().then(resolve);
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  return 0;
}

// Exit once stopped: a watcher or a lingering client connection must not keep the daemon alive.
process.exit(await main());

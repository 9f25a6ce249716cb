/**
 * skiff-cri's life: load the config, prepare the root and state directories, open the
 * store, serve gRPC (calls wait behind the gate, answering UNAVAILABLE), recover, open
 * the gate; on stop, drain calls and close everything. A start that fails part-way
 * removes what it created (directories it made, the socket) and throws an error naming
 * the problem.
 */
import { accessSync, constants, rmSync } from "node:fs";
import { join } from "node:path";
import { SystemError } from "../core/errors.js";
import { makeDirs } from "../core/host/make-dirs.js";
import type { Logger } from "../core/log.js";
import { Store } from "../core/store/store.js";
import { ConfigService } from "../services/config/config-service.js";
import type { NetworkReadiness } from "../services/runtime/runtime-status.js";
import { GrpcServer } from "../grpc/server.js";
import { openImageService } from "./images.js";
import type { Gate } from "../grpc/instrument.js";
import type { DaemonOptions } from "./options.js";

export class Daemon {
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly options: DaemonOptions,
    private readonly log: Logger,
    readonly config: ConfigService,
    private readonly store: Store,
    private readonly server: GrpcServer,
  ) {}

  static async start(options: DaemonOptions, log: Logger): Promise<Daemon> {
    const config = new ConfigService({ path: options.config, required: options.configGiven }, log);
    const undo: (() => void)[] = [];
    try {
      for (const dir of [options.root, options.state]) makeDir(dir, undo);
      const store = Store.open(join(options.root, "skiff.db"));
      undo.push(() => store.close());

      let recovered = false;
      const gate: Gate = {
        notReady: () => (recovered ? undefined : "skiff-cri is starting: recovery is not done yet"),
      };
      const network = (): NetworkReadiness => ({
        ready: false,
        reason: "NetworkPluginNotReady",
        message: "skiff-cri does not set up pod networks through CNI yet",
      });
      const images = await openImageService(options.root, store, config, log);
      const server = await GrpcServer.listen({
        socket: options.socket,
        log,
        gate,
        services: {
          config,
          images,
          status: {
            network,
            info: () => ({ config: { ...options }, configFiles: config.current().config.files }),
          },
        },
      });
      const daemon = new Daemon(options, log, config, store, server);
      undo.push(() => void server.stop(0));
      await daemon.recover();
      recovered = true;
      log.info(
        { socket: options.socket, root: options.root, state: options.state },
        "skiff-cri serving",
      );
      return daemon;
    } catch (err) {
      for (const step of undo.reverse()) {
        try {
          step();
        } catch {
          // best effort: the original error matters more
        }
      }
      throw err;
    }
  }

  /** Reconciles the store with the machine. Nothing to reconcile until objects exist. */
  private async recover(): Promise<void> {
    this.log.debug("recovery done");
  }

  reloadConfig(): void {
    try {
      this.config.reload();
    } catch {
      // logged by the config service; the previous config stays in force
    }
  }

  stop(graceMs = 5000): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info("skiff-cri stopping");
      await this.server.stop(graceMs);
      this.store.close();
      this.log.info("skiff-cri stopped");
    })();
    return this.stopping;
  }
}

/** mkdir -p that records what it created (for rollback) and checks it can write there. */
function makeDir(dir: string, undo: (() => void)[]): void {
  const created = makeDirs(dir, 0o711, "InvalidArgument");
  if (created !== undefined) undo.push(() => rmSync(created, { recursive: true, force: true }));
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw new SystemError("write to directory", dir, err, "InvalidArgument");
  }
}

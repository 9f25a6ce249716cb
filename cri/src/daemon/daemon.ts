/**
 * skiff-cri's life: load the config, prepare the root and state directories, open the
 * store, serve gRPC (calls wait behind the gate, answering UNAVAILABLE), recover, open
 * the gate; on stop, drain calls and close everything. A start that fails part-way
 * removes what it created (directories it made, the socket) and throws an error naming
 * the problem.
 */
import { accessSync, constants, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { SystemError } from "../core/errors.js";
import { makeDirs } from "../core/host/make-dirs.js";
import type { Logger } from "../core/log.js";
import { Store } from "../core/store/store.js";
import { ConfigService } from "../services/config/config-service.js";
import type { SandboxService } from "../services/sandbox/sandbox-service.js";
import { openSandboxService } from "../services/sandbox/open.js";
import { GrpcServer } from "../grpc/server.js";
import { openImageService } from "./images.js";
import { favorDynmods } from "../core/cgroups/favor-dynmods.js";
import { ContainerRuntime } from "../core/container/runtime.js";
import { ContainerService } from "../services/container/container-service.js";
import { ContainerStreamBackend } from "../streaming/container-backend.js";
import { StreamingServer } from "../streaming/server.js";
import type { Gate } from "../grpc/instrument.js";
import type { DaemonOptions } from "./options.js";
import { closeLaunchPool, enableLaunchPool } from "../core/shim/launch.js";

export class Daemon {
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly options: DaemonOptions,
    private readonly log: Logger,
    readonly config: ConfigService,
    private readonly store: Store,
    private readonly server: GrpcServer,
    readonly sandboxes: SandboxService,
    readonly containers: ContainerService,
    /** Closes what serves beside gRPC: the CNI watcher, the streaming server. */
    private readonly closeServices: () => Promise<void>,
  ) {}

  static async start(options: DaemonOptions, log: Logger): Promise<Daemon> {
    const config = new ConfigService({ path: options.config, required: options.configGiven }, log);
    const undo: (() => void)[] = [];
    try {
      for (const dir of [options.root, options.state]) makeDir(dir, undo);
      const unfavor = options.cgroupFavorDynmods ? await favorDynmods() : undefined;
      if (unfavor) {
        log.info("cgroup2 remounted with favordynmods until skiff-cri stops");
        undo.push(() => void unfavor().catch(() => undefined));
      }
      enableLaunchPool();
      undo.push(closeLaunchPool);
      const store = Store.open(join(options.root, "skiff.db"));
      undo.push(() => store.close());

      let recovered = false;
      const gate: Gate = {
        notReady: () => (recovered ? undefined : "skiff-cri is starting: recovery is not done yet"),
      };
      const { sandboxes, cni } = openSandboxService({
        root: options.root,
        state: options.state,
        cniConfDir: options.cniConfDir,
        cniBinDirs: options.cniBinDirs,
        store,
        log,
      });
      undo.push(() => {
        cni.close();
        void streaming.stop();
      });
      const { images, snapshotter } = await openImageService(options.root, store, config, log);
      const runtime = new ContainerRuntime({
        root: join(options.state, "containers"),
        log,
        spareExecs: true,
      });
      const containers = new ContainerService({
        store,
        runtime,
        images,
        snapshotter,
        pods: sandboxes,
        dir: join(options.root, "containers"),
        log,
      });
      sandboxes.setContainers(containers);
      images.inUse = (id) => containers.usesImage(id);
      const streaming = new StreamingServer({
        backend: new ContainerStreamBackend(containers, sandboxes),
        address: options.streamAddress,
        logger: log,
        ...(options.streamTlsCert && options.streamTlsKey
          ? {
              tls: {
                cert: readFileSync(options.streamTlsCert),
                key: readFileSync(options.streamTlsKey),
              },
            }
          : {}),
      });
      await streaming.start();
      undo.push(() => void streaming.stop());
      const server = await GrpcServer.listen({
        socket: options.socket,
        log,
        gate,
        services: {
          config,
          images,
          sandboxes,
          containers,
          streaming,
          network: { setPodCidr: (cidrs) => cni.setPodCidr(cidrs) },
          status: {
            network: () => {
              const readiness = cni.readiness();
              return { ...readiness, message: readiness.message.replace(/^cni /, "CNI ") };
            },
            info: () => ({ config: { ...options }, configFiles: config.current().config.files }),
          },
        },
      });
      const daemon = new Daemon(
        options,
        log,
        config,
        store,
        server,
        sandboxes,
        containers,
        async () => {
          cni.close();
          await streaming.stop();
          runtime.closeSpares();
          closeLaunchPool();
          await unfavor?.().catch((err: Error) =>
            log.warn({ err: err.message }, "cannot turn cgroup favordynmods back off"),
          );
        },
      );
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

  /**
   * Reconciles the store with the machine before any RPC is served: containers (roll
   * back half-created ones, remove directories no row knows), then pod sandboxes
   * (re-adopt live infra processes, mark dead ones NotReady, roll back half-created
   * pods, remove leftovers no row knows).
   */
  private async recover(): Promise<void> {
    const containers = await this.containers.recover();
    if (containers.rolledBack.length > 0 || containers.strays.length > 0)
      this.log.info(containers, "containers recovered");
    const pods = await this.sandboxes.recover();
    this.log.info(
      {
        adopted: pods.adopted.length,
        notReady: pods.notReady.length,
        rolledBack: pods.rolledBack.length,
        leaked: pods.leaked,
      },
      "recovery done",
    );
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
      await this.closeServices();
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

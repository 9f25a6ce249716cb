/** skiff-operator: flags → controllers or node agent → run until SIGTERM/SIGINT. No logic here. */
import { createLogger } from "../../cri/src/core/log.js";
import { NodeAgent } from "./agent/agent.js";
import { runCommand } from "./agent/host.js";
import { collectProcessMetrics, OperatorMetrics, serveMetrics } from "./framework/metrics.js";
import { loadKubeConfig, RestClient } from "./framework/rest-client.js";
import { Operator } from "./operator.js";
import { parseOptions, usage } from "./options.js";

async function main(): Promise<number> {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`skiff-operator: ${(err as Error).message}\n${usage}\n`);
    return 2;
  }
  if (options.mode === "help") {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const log = createLogger(
    options.logLevel,
    options.mode === "agent" ? "skiff-node-agent" : "skiff-operator",
  );
  const metrics = new OperatorMetrics();
  collectProcessMetrics(metrics.registry);
  const api = new RestClient(
    loadKubeConfig(options.kubeconfig),
    metrics,
    options.mode === "agent" ? "skiff-node-agent" : "skiff-operator",
  );
  let stop: () => Promise<void>;
  let lost = false;
  const done = new Promise<void>((resolve) => {
    process.once("SIGTERM", () => resolve());
    process.once("SIGINT", () => resolve());
  });
  try {
    if (options.mode === "agent") {
      const agent = new NodeAgent({
        api,
        nodeName: options.nodeName,
        host: {
          root: options.hostRoot,
          proc: options.procRoot,
          sys: options.sysRoot,
          run: runCommand,
        },
        namespace: options.namespace,
        criSocket: options.criSocket,
        installSource: options.installSource,
        resyncMs: options.resyncMs,
        log,
        metrics,
      });
      let ready = false;
      const server = await serveMetrics(
        metrics.registry,
        options.metricsHost,
        options.metricsPort,
        {
          healthy: () => true,
          ready: () => ready,
        },
      );
      await agent.start();
      ready = true;
      stop = async () => {
        await agent.stop();
        await new Promise((r) => server.close(r));
      };
    } else {
      let exitLost: () => void = () => {};
      const lostLeadership = new Promise<void>((resolve) => (exitLost = resolve));
      const operator = new Operator({
        api,
        log,
        metrics,
        settings: options.settings,
        identity: options.identity,
        leaderElection: options.leaderElect,
        leaseDurationMs: options.leaseDurationMs,
        renewDeadlineMs: options.renewDeadlineMs,
        retryPeriodMs: options.retryPeriodMs,
        resyncMs: options.resyncMs,
        workers: options.workers,
        metricsHost: options.metricsHost,
        metricsPort: options.metricsPort,
        onLostLeadership: () => {
          lost = true;
          exitLost();
        },
      });
      await operator.start();
      stop = () => operator.stop();
      await Promise.race([done, lostLeadership]);
      log.info(lost ? "lost the lease; exiting" : "shutting down");
      await stop();
      return lost ? 1 : 0;
    }
  } catch (err) {
    log.fatal({ err: (err as Error).stack ?? String(err) }, "could not start");
    return 1;
  }
  await done;
  log.info("shutting down");
  await stop();
  return 0;
}

process.exitCode = await main();
// Sockets to the API server (keep-alive) must not hold the process open.
setTimeout(() => process.exit(), 2000).unref();

import { describe, expect, test } from "@jest/globals";
import { request } from "node:http";
import { MetricsRegistry, serveMetrics } from "./metrics.js";

describe("metrics", () => {
  test("renders counters, gauges and histograms in the Prometheus text format", () => {
    const r = new MetricsRegistry();
    r.counter("x_total", "X.").inc({ controller: "registry", result: "success" }, 2);
    r.gauge("depth", "D.").set(3, { queue: "q" });
    const h = r.histogram("d_seconds", "H.", [0.1, 1]);
    h.observe(0.05);
    h.observe(0.5);
    expect(r.render()).toBe(
      [
        "# HELP x_total X.",
        "# TYPE x_total counter",
        'x_total{controller="registry",result="success"} 2',
        "# HELP depth D.",
        "# TYPE depth gauge",
        'depth{queue="q"} 3',
        "# HELP d_seconds H.",
        "# TYPE d_seconds histogram",
        'd_seconds_bucket{le="0.1"} 1',
        'd_seconds_bucket{le="1"} 2',
        'd_seconds_bucket{le="+Inf"} 2',
        "d_seconds_sum 0.55",
        "d_seconds_count 2",
        "",
      ].join("\n"),
    );
  });

  test("serves /metrics and health endpoints over HTTP", async () => {
    const r = new MetricsRegistry();
    r.counter("hits_total", "Hits.").inc();
    let ready = false;
    const server = await serveMetrics(r, "127.0.0.1", 0, {
      healthy: () => true,
      ready: () => ready,
    });
    const port = (server.address() as { port: number }).port;
    const get = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        request({ host: "127.0.0.1", port, path }, (res) => {
          let body = "";
          res.on("data", (d) => (body += d));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        })
          .on("error", reject)
          .end();
      });
    try {
      expect((await get("/metrics")).body).toContain("hits_total 1");
      expect((await get("/healthz")).status).toBe(200);
      expect((await get("/readyz")).status).toBe(503);
      ready = true;
      expect((await get("/readyz")).status).toBe(200);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

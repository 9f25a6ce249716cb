/**
 * Prometheus metrics in the text exposition format (version 0.0.4), written here rather
 * than with a dependency: counters, gauges and histograms with labels, and an HTTP
 * endpoint serving /metrics, /healthz and /readyz.
 */
import { createServer, type Server } from "node:http";

type Labels = Record<string, string>;

const labelText = (labels: Labels): string => {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  const escape = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
  return `{${entries.map(([k, v]) => `${k}="${escape(v)}"`).join(",")}}`;
};

const keyOf = (labels: Labels): string => JSON.stringify(Object.entries(labels).sort());

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  abstract readonly type: string;
  abstract lines(): string[];
  render(): string {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`, ...this.lines()]
      .join("\n")
      .concat("\n");
  }
}

export class Counter extends Metric {
  readonly type = "counter";
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  inc(labels: Labels = {}, by = 1): void {
    const key = keyOf(labels);
    const entry = this.values.get(key);
    if (entry) entry.value += by;
    else this.values.set(key, { labels, value: by });
  }
  get(labels: Labels = {}): number {
    return this.values.get(keyOf(labels))?.value ?? 0;
  }
  /** The sum over every label set. */
  total(): number {
    let sum = 0;
    for (const v of this.values.values()) sum += v.value;
    return sum;
  }
  lines(): string[] {
    return [...this.values.values()].map((v) => `${this.name}${labelText(v.labels)} ${v.value}`);
  }
}

export class Gauge extends Metric {
  readonly type = "gauge";
  private readonly values = new Map<string, { labels: Labels; value: number | (() => number) }>();
  set(value: number, labels: Labels = {}): void {
    this.values.set(keyOf(labels), { labels, value });
  }
  /** The value is read at scrape time. */
  collect(fn: () => number, labels: Labels = {}): void {
    this.values.set(keyOf(labels), { labels, value: fn });
  }
  get(labels: Labels = {}): number {
    const v = this.values.get(keyOf(labels))?.value;
    return typeof v === "function" ? v() : (v ?? 0);
  }
  lines(): string[] {
    return [...this.values.values()].map(
      (v) =>
        `${this.name}${labelText(v.labels)} ${typeof v.value === "function" ? v.value() : v.value}`,
    );
  }
}

export class Histogram extends Metric {
  readonly type = "histogram";
  private readonly values = new Map<
    string,
    { labels: Labels; counts: number[]; sum: number; count: number }
  >();
  constructor(
    name: string,
    help: string,
    readonly buckets: number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  ) {
    super(name, help);
  }
  observe(value: number, labels: Labels = {}): void {
    const key = keyOf(labels);
    let entry = this.values.get(key);
    if (!entry) {
      entry = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.values.set(key, entry);
    }
    this.buckets.forEach((b, i) => {
      if (value <= b) entry.counts[i]! += 1;
    });
    entry.sum += value;
    entry.count += 1;
  }
  count(labels: Labels = {}): number {
    return this.values.get(keyOf(labels))?.count ?? 0;
  }
  lines(): string[] {
    const out: string[] = [];
    for (const v of this.values.values()) {
      this.buckets.forEach((b, i) =>
        out.push(`${this.name}_bucket${labelText({ ...v.labels, le: String(b) })} ${v.counts[i]}`),
      );
      out.push(`${this.name}_bucket${labelText({ ...v.labels, le: "+Inf" })} ${v.count}`);
      out.push(`${this.name}_sum${labelText(v.labels)} ${v.sum}`);
      out.push(`${this.name}_count${labelText(v.labels)} ${v.count}`);
    }
    return out;
  }
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();

  private add<M extends Metric>(metric: M): M {
    const existing = this.metrics.get(metric.name);
    if (existing) return existing as M;
    this.metrics.set(metric.name, metric);
    return metric;
  }
  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }
  gauge(name: string, help: string): Gauge {
    return this.add(new Gauge(name, help));
  }
  histogram(name: string, help: string, buckets?: number[]): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }
  render(): string {
    return [...this.metrics.values()].map((m) => m.render()).join("");
  }
}

/** The operator's metrics, shared by the framework's parts. */
export class OperatorMetrics {
  readonly reconciles: Counter;
  readonly reconcileErrors: Counter;
  readonly reconcileDuration: Histogram;
  readonly queueDepth: Gauge;
  readonly queueAdds: Counter;
  readonly queueRetries: Counter;
  readonly apiRequests: Counter;
  readonly informerRelists: Counter;
  readonly informerEvents: Counter;
  readonly leader: Gauge;

  constructor(readonly registry = new MetricsRegistry()) {
    const r = registry;
    this.reconciles = r.counter(
      "skiff_operator_reconcile_total",
      "Reconciles by controller and result (success, error, requeue).",
    );
    this.reconcileErrors = r.counter(
      "skiff_operator_reconcile_errors_total",
      "Reconciles that failed, by controller.",
    );
    this.reconcileDuration = r.histogram(
      "skiff_operator_reconcile_duration_seconds",
      "How long a reconcile took, by controller.",
    );
    this.queueDepth = r.gauge("skiff_operator_workqueue_depth", "Keys waiting, by queue.");
    this.queueAdds = r.counter("skiff_operator_workqueue_adds_total", "Keys added, by queue.");
    this.queueRetries = r.counter(
      "skiff_operator_workqueue_retries_total",
      "Keys re-added with backoff after a failure, by queue.",
    );
    this.apiRequests = r.counter(
      "skiff_operator_api_requests_total",
      "Requests to the API server, by verb, resource and HTTP status.",
    );
    this.informerRelists = r.counter(
      "skiff_operator_informer_relists_total",
      "Full lists by informer resource (the first, resyncs after an expired watch, errors).",
    );
    this.informerEvents = r.counter(
      "skiff_operator_informer_events_total",
      "Watch events received, by resource and type.",
    );
    this.leader = r.gauge("skiff_operator_leader", "1 while this process holds the lease.");
  }
}

export interface HealthChecks {
  healthy(): boolean;
  ready(): boolean;
}

/** Serves /metrics, /healthz and /readyz. Returns the listening server. */
export function serveMetrics(
  registry: MetricsRegistry,
  host: string,
  port: number,
  health: HealthChecks,
): Promise<Server> {
  const server = createServer((req, res) => {
    const url = req.url ?? "/";
    if (url === "/metrics") {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
      res.end(registry.render());
    } else if (url === "/healthz" || url === "/readyz") {
      const ok = url === "/healthz" ? health.healthy() : health.ready();
      res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" });
      res.end(ok ? "ok\n" : "not ready\n");
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}

/** Process metrics (resident memory, heap, CPU), read at scrape time. */
export function collectProcessMetrics(registry: MetricsRegistry): void {
  registry
    .gauge("process_resident_memory_bytes", "Resident memory size in bytes.")
    .collect(() => process.memoryUsage.rss());
  registry
    .gauge("nodejs_heap_used_bytes", "V8 heap in use, in bytes.")
    .collect(() => process.memoryUsage().heapUsed);
  registry
    .gauge("process_cpu_seconds_total", "User and system CPU time, in seconds.")
    .collect(() => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1e6;
    });
}

/**
 * Mirror health: GET <url>/v2/ with a timeout. 200 and 401 (auth required) mean a
 * registry answered; anything else, a refused connection or a timeout is unhealthy.
 */
export interface ProbeResult {
  url: string;
  healthy: boolean;
  latencyMs: number;
  message?: string;
}

export async function probeMirror(
  url: string,
  timeoutMs = 2000,
  now: () => number = Date.now,
): Promise<ProbeResult> {
  const started = now();
  try {
    const res = await fetch(`${url.replace(/\/+$/, "")}/v2/`, {
      signal: AbortSignal.timeout(timeoutMs),
      redirect: "manual",
    });
    await res.body?.cancel();
    const latencyMs = Math.round(now() - started);
    if (res.status === 200 || res.status === 401) return { url, healthy: true, latencyMs };
    return { url, healthy: false, latencyMs, message: `GET /v2/ answered ${res.status}` };
  } catch (err) {
    const latencyMs = Math.round(now() - started);
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const detail =
      e.name === "TimeoutError"
        ? `no answer within ${timeoutMs} ms`
        : (e.cause?.code ?? e.cause?.message ?? e.message);
    return { url, healthy: false, latencyMs, message: `GET /v2/: ${detail}` };
  }
}

/**
 * Single-use tokens for streaming URLs, as kubelet's request cache: a random
 * URL-safe token maps to the validated CRI request; consuming it removes it; tokens
 * expire after `ttlMs` (one minute by default); at most `maxInFlight` are pending.
 */
import { randomBytes } from "node:crypto";
import { SkiffError } from "../core/errors.js";

interface Entry<T> {
  value: T;
  expires: number;
}

export class TokenCache<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(
    private readonly ttlMs = 60_000,
    private readonly maxInFlight = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  insert(value: T): string {
    this.gc();
    if (this.entries.size >= this.maxInFlight) {
      throw new SkiffError("ResourceExhausted", "maximum number of in-flight requests exceeded");
    }
    let token: string;
    do token = randomBytes(8).toString("base64url");
    while (this.entries.has(token));
    this.entries.set(token, { value, expires: this.now() + this.ttlMs });
    return token;
  }

  /** The request for a token, once; undefined when unknown, used or expired. */
  consume(token: string): T | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    this.entries.delete(token);
    if (entry.expires <= this.now()) return undefined;
    return entry.value;
  }

  get size(): number {
    this.gc();
    return this.entries.size;
  }

  private gc(): void {
    const now = this.now();
    for (const [token, entry] of this.entries) {
      if (entry.expires <= now) this.entries.delete(token);
    }
  }
}

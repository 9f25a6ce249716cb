/**
 * The configuration in force (DESIGN.md "Registry configuration"), reloaded on SIGHUP
 * and through the Config/Reload RPC. A reload that fails validation is refused and the
 * previous configuration stays in force; listeners hear only of good configurations.
 */
import { loadConfig, type LoadOptions } from "../../core/config/load.js";
import type { SkiffConfig } from "../../core/config/schema.js";
import type { Logger } from "../../core/log.js";

export interface LoadedConfig {
  config: SkiffConfig;
  loadedAtNs: bigint;
}

export class ConfigService {
  private loaded: LoadedConfig;
  private readonly listeners = new Set<(config: SkiffConfig) => void>();

  /** Throws (InvalidArgument, naming file, line and field) when the files are bad. */
  constructor(
    private readonly options: LoadOptions,
    private readonly log: Logger,
  ) {
    this.loaded = { config: loadConfig(options), loadedAtNs: nowNs() };
  }

  current(): LoadedConfig {
    return this.loaded;
  }

  reload(): LoadedConfig {
    try {
      this.loaded = { config: loadConfig(this.options), loadedAtNs: nowNs() };
    } catch (err) {
      this.log.error(
        { err: (err as Error).message },
        "config reload refused; the previous config stays",
      );
      throw err;
    }
    this.log.info({ files: this.loaded.config.files }, "config reloaded");
    for (const listener of this.listeners) listener(this.loaded.config);
    return this.loaded;
  }

  onChange(listener: (config: SkiffConfig) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/**
 * Watches the CNI conf dir so network readiness follows it without a restart (kubeadm
 * installs the pod network after kubelet started). inotify (fs.watch) on the directory
 * and on its parent (which sees the directory appear, vanish or be replaced) gives a
 * prompt, debounced callback; a cheap poll of the directory's listing (names, sizes,
 * mtimes) catches anything inotify cannot see, such as a directory whose parent does not
 * exist yet. The callback runs at most once per debounce period.
 */
import { watch, readdirSync, statSync, type FSWatcher } from "node:fs";
import { basename, dirname, join } from "node:path";

export interface ConfWatcherOptions {
  debounceMs?: number;
  pollMs?: number;
}

export class ConfWatcher {
  private dirWatcher: FSWatcher | undefined;
  private parentWatcher: FSWatcher | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private signature: string;
  private closed = false;
  private readonly debounceMs: number;

  constructor(
    readonly dir: string,
    private readonly onChange: () => void,
    options: ConfWatcherOptions = {},
  ) {
    this.debounceMs = options.debounceMs ?? 100;
    this.signature = dirSignature(dir);
    this.arm();
    this.pollTimer = setInterval(() => this.poll(), options.pollMs ?? 2000);
    this.pollTimer.unref();
  }

  close(): void {
    this.closed = true;
    this.dirWatcher?.close();
    this.parentWatcher?.close();
    clearInterval(this.pollTimer);
    clearTimeout(this.debounceTimer);
    this.dirWatcher = this.parentWatcher = this.pollTimer = this.debounceTimer = undefined;
  }

  private arm(): void {
    if (this.closed) return;
    if (this.dirWatcher === undefined) {
      this.dirWatcher = tryWatch(
        this.dir,
        () => this.changed(),
        () => {
          this.dirWatcher?.close();
          this.dirWatcher = undefined;
          this.changed();
        },
      );
    }
    if (this.parentWatcher === undefined) {
      const name = basename(this.dir);
      this.parentWatcher = tryWatch(
        dirname(this.dir),
        (file) => {
          if (file === null || file === name) {
            // the directory itself appeared, vanished or was replaced: watch the new one
            this.dirWatcher?.close();
            this.dirWatcher = undefined;
            this.changed();
          }
        },
        () => {
          this.parentWatcher?.close();
          this.parentWatcher = undefined;
        },
      );
    }
  }

  private poll(): void {
    this.arm();
    const now = dirSignature(this.dir);
    if (now !== this.signature) this.changed();
  }

  private changed(): void {
    if (this.closed) return;
    clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined;
      if (this.closed) return;
      this.arm();
      this.signature = dirSignature(this.dir);
      this.onChange();
    }, this.debounceMs);
    this.debounceTimer.unref();
  }
}

function tryWatch(
  path: string,
  onEvent: (file: string | null) => void,
  onError: () => void,
): FSWatcher | undefined {
  try {
    const w = watch(path, { persistent: false }, (_event, file) => onEvent(file));
    w.on("error", onError);
    return w;
  } catch {
    return undefined;
  }
}

/** A cheap fingerprint of the directory's contents. */
export function dirSignature(dir: string): string {
  try {
    const parts: string[] = [];
    for (const name of readdirSync(dir).sort()) {
      try {
        const st = statSync(join(dir, name));
        parts.push(`${name}:${st.size}:${st.mtimeMs}:${st.ino}`);
      } catch {
        parts.push(`${name}:gone`);
      }
    }
    return parts.join("\n");
  } catch {
    return "<missing>";
  }
}

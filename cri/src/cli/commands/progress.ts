/**
 * The per-layer progress display of `skiff pull` and `skiff push`, as docker draws it.
 * On a terminal every blob has one line, redrawn in place with ANSI cursor movement
 * (up N lines, clear the line, write, down N lines); otherwise (a pipe, a file) one
 * plain line is printed per change of a blob's status, never for byte counts.
 */
export interface TransferUpdate {
  blob: string;
  status: string;
  current: number;
  total: number;
}

const pullWords: Record<string, string> = {
  waiting: "Pulling fs layer",
  downloading: "Downloading",
  complete: "Download complete",
  exists: "Already exists",
};
const pushWords: Record<string, string> = {
  waiting: "Preparing",
  pushing: "Pushing",
  complete: "Pushed",
  exists: "Layer already exists",
  mounted: "Mounted from another repository",
};

/** 1234567 → "1.23MB" (decimal units, as docker prints). */
export function humanSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  const text = unit === 0 ? String(value) : value.toPrecision(3).replace(/\.?0+$/, "");
  return `${text}${units[unit]}`;
}

function bar(current: number, total: number, width = 50): string {
  if (total <= 0) return "";
  const filled = Math.min(width, Math.floor((current / total) * width));
  const arrow = filled < width ? ">" : "";
  return `[${"=".repeat(Math.max(0, filled - (arrow ? 1 : 0)))}${arrow}${" ".repeat(width - filled)}]`;
}

export const shortBlob = (digest: string): string =>
  digest.slice(digest.indexOf(":") + 1, digest.indexOf(":") + 13);

export function describe(update: TransferUpdate, kind: "pull" | "push", tty: boolean): string {
  const words = kind === "pull" ? pullWords : pushWords;
  const word = words[update.status] ?? update.status;
  const moving = update.status === "downloading" || update.status === "pushing";
  const amount =
    moving && tty
      ? ` ${bar(update.current, update.total)} ${humanSize(update.current)}/${humanSize(update.total)}`
      : "";
  return `${shortBlob(update.blob)}: ${word}${amount}`;
}

export class ProgressDisplay {
  private readonly order: string[] = [];
  private readonly statuses = new Map<string, string>();

  constructor(
    private readonly write: (text: string) => void,
    private readonly tty: boolean,
    private readonly kind: "pull" | "push",
  ) {}

  update(u: TransferUpdate): void {
    if (u.blob === "") return;
    const line = describe(u, this.kind, this.tty);
    const index = this.order.indexOf(u.blob);
    const changed = this.statuses.get(u.blob) !== u.status;
    this.statuses.set(u.blob, u.status);
    if (index < 0) {
      this.order.push(u.blob);
      this.write(`${line}\n`);
      return;
    }
    if (!this.tty) {
      if (changed) this.write(`${line}\n`);
      return;
    }
    const up = this.order.length - index;
    this.write(`\x1b[${up}A\r\x1b[2K${line}\x1b[${up}B\r`);
  }

  /** True when every blob was already there (nothing was transferred). */
  nothingMoved(): boolean {
    return [...this.statuses.values()].every((s) => s === "exists" || s === "mounted");
  }
}

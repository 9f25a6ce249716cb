/**
 * The resize stream: a sequence of JSON objects `{"Width":W,"Height":H}` (client-go
 * writes each with a trailing newline, but any whitespace or none may separate them).
 * The decoder splits top-level objects by brace depth, bounded in size.
 */
import type { TerminalSize } from "./backend.js";

export class ResizeDecoder {
  private text = "";

  constructor(private readonly maxPending = 4096) {}

  push(chunk: Buffer | string): TerminalSize[] {
    this.text += chunk.toString();
    const out: TerminalSize[] = [];
    let depth = 0;
    let inString = false;
    let escaped = false;
    let start = -1;
    let consumed = 0;
    for (let i = 0; i < this.text.length; i++) {
      const c = this.text[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === "\\") escaped = true;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === "{") {
        if (depth === 0) start = i;
        depth++;
      } else if (c === "}" && depth > 0) {
        depth--;
        if (depth === 0) {
          const size = parseSize(this.text.slice(start, i + 1));
          if (size) out.push(size);
          consumed = i + 1;
        }
      } else if (depth === 0 && !/\s/.test(c ?? "")) {
        consumed = i + 1;
      }
    }
    this.text = this.text.slice(consumed);
    if (this.text.length > this.maxPending) this.text = "";
    return out;
  }
}

function parseSize(json: string): TerminalSize | undefined {
  try {
    const v = JSON.parse(json) as { Width?: unknown; Height?: unknown };
    const width = Number(v.Width ?? 0);
    const height = Number(v.Height ?? 0);
    if (!Number.isInteger(width) || !Number.isInteger(height)) return undefined;
    if (width < 0 || height < 0 || width > 65535 || height > 65535) return undefined;
    return { width, height };
  } catch {
    return undefined;
  }
}

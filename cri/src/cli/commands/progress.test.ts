import { describe, expect, test } from "@jest/globals";
import { humanSize, ProgressDisplay } from "./progress.js";

const a = `sha256:${"a".repeat(64)}`;
const b = `sha256:${"b".repeat(64)}`;

function record(tty: boolean, kind: "pull" | "push" = "pull") {
  const writes: string[] = [];
  return { writes, display: new ProgressDisplay((t) => writes.push(t), tty, kind) };
}

describe("ProgressDisplay", () => {
  test("piped: one line per status change, no byte counts, no escapes", () => {
    const { writes, display } = record(false);
    display.update({ blob: "", status: "resolving", current: 0, total: 0 });
    display.update({ blob: a, status: "waiting", current: 0, total: 2000 });
    display.update({ blob: b, status: "waiting", current: 0, total: 10 });
    display.update({ blob: a, status: "downloading", current: 1000, total: 2000 });
    display.update({ blob: a, status: "downloading", current: 1500, total: 2000 });
    display.update({ blob: a, status: "complete", current: 2000, total: 2000 });
    display.update({ blob: b, status: "exists", current: 10, total: 10 });
    expect(writes.join("")).toBe(
      "aaaaaaaaaaaa: Pulling fs layer\nbbbbbbbbbbbb: Pulling fs layer\n" +
        "aaaaaaaaaaaa: Downloading\naaaaaaaaaaaa: Download complete\nbbbbbbbbbbbb: Already exists\n",
    );
    expect(display.nothingMoved()).toBe(false);
  });

  test("terminal: a blob's line is redrawn in place (cursor up, clear, down)", () => {
    const { writes, display } = record(true);
    display.update({ blob: a, status: "waiting", current: 0, total: 2000 });
    display.update({ blob: b, status: "waiting", current: 0, total: 10 });
    display.update({ blob: a, status: "downloading", current: 1000, total: 2000 });
    expect(writes[2]).toBe(
      `\x1b[2A\r\x1b[2Kaaaaaaaaaaaa: Downloading [${"=".repeat(24)}>${" ".repeat(25)}] 1kB/2kB\x1b[2B\r`,
    );
    display.update({ blob: b, status: "exists", current: 10, total: 10 });
    expect(writes[3]).toBe("\x1b[1A\r\x1b[2Kbbbbbbbbbbbb: Already exists\x1b[1B\r");
  });

  test("push words and nothingMoved", () => {
    const { writes, display } = record(false, "push");
    display.update({ blob: a, status: "waiting", current: 0, total: 1 });
    display.update({ blob: a, status: "mounted", current: 1, total: 1 });
    expect(writes.join("")).toBe(
      "aaaaaaaaaaaa: Preparing\naaaaaaaaaaaa: Mounted from another repository\n",
    );
    expect(display.nothingMoved()).toBe(true);
  });

  test("humanSize uses decimal units as docker does", () => {
    expect(humanSize(999)).toBe("999B");
    expect(humanSize(1000)).toBe("1kB");
    expect(humanSize(4_260_000)).toBe("4.26MB");
    expect(humanSize(1_500_000_000)).toBe("1.5GB");
  });
});

import { describe, expect, test } from "@jest/globals";
import { silentLogger } from "../../core/log.js";
import { Rollback } from "./rollback.js";

describe("Rollback", () => {
  test("runs the undos newest first, keeps going past a failure and a hang, reports them", async () => {
    const done: string[] = [];
    const undo = new Rollback(silentLogger, 50);
    undo.push("first", () => void done.push("first"));
    undo.push("fails", () => {
      throw new Error("boom");
    });
    undo.push("hangs", () => new Promise<void>(() => undefined));
    undo.push("last", async () => void done.push("last"));
    expect(await undo.run()).toEqual(["hangs", "fails"]);
    expect(done).toEqual(["last", "first"]);
    expect(undo.size).toBe(0);
  });

  test("commit forgets the undos", async () => {
    const undo = new Rollback(silentLogger);
    let ran = false;
    undo.push("x", () => void (ran = true));
    undo.commit();
    expect(await undo.run()).toEqual([]);
    expect(ran).toBe(false);
  });
});

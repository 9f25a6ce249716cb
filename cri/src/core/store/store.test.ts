import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Store } from "./store.js";
import { migrations } from "./migrations.js";

describe("Store", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "skiff-store-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("a new store is migrated to the latest schema, in WAL mode", () => {
    const store = Store.open(join(dir, "meta.db"));
    expect(store.schemaVersion).toBe(migrations.length);
    expect(store.get("PRAGMA journal_mode")?.["journal_mode"]).toBe("wal");
    store.run("INSERT INTO settings (key, value) VALUES (?, ?)", "k", "v");
    store.close();
    const again = Store.open(join(dir, "meta.db"));
    expect(again.get("SELECT value FROM settings WHERE key = ?", "k")?.["value"]).toBe("v");
    again.close();
  });

  test("a failed transaction leaves nothing behind", () => {
    const store = Store.open(join(dir, "meta.db"));
    expect(() =>
      store.transaction(() => {
        store.run("INSERT INTO settings (key, value) VALUES ('a', '1')");
        store.run("INSERT INTO settings (key, value) VALUES ('a', '2')"); // primary key clash
      }),
    ).toThrow(/UNIQUE/);
    expect(store.all("SELECT * FROM settings")).toEqual([]);
    store.close();
  });

  test("a database from a newer skiff-cri is refused", () => {
    const path = join(dir, "meta.db");
    Store.open(path).close();
    const store = Store.open(path);
    store.run(`PRAGMA user_version = ${migrations.length + 1}`);
    store.close();
    expect(() => Store.open(path)).toThrow(/newer than this skiff-cri/);
  });

  test("a file that is not a database is refused with its path", () => {
    const path = join(dir, "meta.db");
    writeFileSync(path, "x".repeat(4096));
    expect(() => Store.open(path)).toThrow(path);
  });

  test("a process killed mid-transaction leaves the store consistent", async () => {
    const path = join(dir, "meta.db");
    Store.open(path).close();
    const storeModule = new URL("./store.js", import.meta.url).href;
    // The child commits 50 batches of 200 rows, then starts batch 51 and signals the
    // parent from inside the open transaction; the parent SIGKILLs it there.
    const child = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import { Store } from ${JSON.stringify(storeModule)};
         const store = Store.open(${JSON.stringify(path)});
         for (let b = 0; b <= 50; b++) {
           store.transaction(() => {
             for (let i = 0; i < 200; i++) {
               store.run("INSERT INTO settings (key, value) VALUES (?, ?)", b + "/" + i, "v");
             }
             if (b === 50) { process.stdout.write("inside\\n"); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); }
           });
         }`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));

    const store = Store.open(path);
    expect(store.integrityCheck()).toBe("ok");
    expect(store.get("SELECT count(*) AS n FROM settings")?.["n"]).toBe(50 * 200);
    expect(store.get("SELECT count(*) AS n FROM settings WHERE key LIKE '50/%'")?.["n"]).toBe(0);
    store.close();
  });
});

import { describe, expect, test } from "@jest/globals";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Store } from "../store/store.js";
import { LocalContentStore } from "./local-store.js";
import { contentStoreSuite } from "./testing/content-store-suite.js";

contentStoreSuite("LocalContentStore", async () => {
  const root = mkdtempSync(join(tmpdir(), "skiff-content-"));
  const store = Store.open(join(root, "meta.db"));
  return {
    store: await LocalContentStore.open(root, store),
    cleanup: async () => {
      store.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
});

describe("LocalContentStore crash safety", () => {
  test("a process SIGKILLed mid-ingest leaves no blob, and the next open sweeps its temp file", async () => {
    const root = mkdtempSync(join(tmpdir(), "skiff-content-crash-"));
    try {
      const child = spawn(
        process.execPath,
        [fileURLToPath(new URL("./testing/ingest-child.js", import.meta.url)), root],
        {
          stdio: ["ignore", "pipe", "inherit"],
        },
      );
      const digest = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          const match = /ready (\S+)\n/.exec(out);
          if (match) resolve(match[1] as string);
        });
        child.on("exit", (code) => reject(new Error(`child exited ${code} before ready`)));
      });
      const exited = new Promise((resolve) => child.on("exit", resolve));
      child.kill("SIGKILL");
      await exited;
      expect(readdirSync(join(root, "content", "ingest")).length).toBe(1);

      const store = Store.open(join(root, "meta.db"));
      try {
        const cs = await LocalContentStore.open(root, store);
        expect(readdirSync(join(root, "content", "ingest"))).toEqual([]);
        await expect(cs.info(digest)).rejects.toMatchObject({ kind: "NotFound" });
        expect(await cs.list()).toEqual([]);
        expect(existsSync(cs.blobPath(digest))).toBe(false);
      } finally {
        store.close();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

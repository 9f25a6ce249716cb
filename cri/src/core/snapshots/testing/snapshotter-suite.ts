/**
 * The shared conformance suite of Snapshotter: every implementation runs it with a
 * factory giving a fresh snapshotter, a way to write into an active snapshot's layer,
 * and a cleanup. Mounting is left to the implementations' own root tests.
 */
import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import type { Snapshotter } from "../snapshotter.js";

export interface SnapshotterFixture {
  snapshotter: Snapshotter;
  /** Writes a file of `bytes` bytes into the layer of active snapshot `key`. */
  writeFile(key: string, name: string, bytes: number): Promise<void>;
  cleanup(): Promise<void>;
}

export function snapshotterSuite(name: string, factory: () => Promise<SnapshotterFixture>): void {
  describe(`Snapshotter conformance: ${name}`, () => {
    let fx: SnapshotterFixture;
    let s: Snapshotter;
    beforeEach(async () => {
      fx = await factory();
      s = fx.snapshotter;
    });
    afterEach(async () => fx.cleanup());

    test("prepare, commit and stat follow the active → committed lifecycle", async () => {
      const mounts = await s.prepare("extract-1", undefined, { labels: { a: "1" } });
      expect(mounts.length).toBe(1);
      expect(await s.stat("extract-1")).toMatchObject({
        name: "extract-1",
        kind: "active",
        labels: { a: "1" },
      });
      await s.commit("layer-1", "extract-1");
      await expect(s.stat("extract-1")).rejects.toMatchObject({ kind: "NotFound" });
      expect(await s.stat("layer-1")).toMatchObject({
        name: "layer-1",
        kind: "committed",
        labels: { a: "1" },
      });
      await s.prepare("extract-2", "layer-1");
      await s.commit("layer-2", "extract-2", { labels: { b: "2" } });
      expect(await s.stat("layer-2")).toMatchObject({
        kind: "committed",
        parent: "layer-1",
        labels: { b: "2" },
      });
      expect((await s.update("layer-2", { c: "3" })).labels).toEqual({ c: "3" });
    });

    test("keys are unique, parents must exist and be committed", async () => {
      await s.prepare("a");
      await expect(s.prepare("a")).rejects.toMatchObject({ kind: "AlreadyExists" });
      await expect(s.prepare("b", "missing")).rejects.toMatchObject({ kind: "NotFound" });
      await expect(s.prepare("b", "a")).rejects.toMatchObject({ kind: "FailedPrecondition" });
      await expect(s.view("v", "a")).rejects.toMatchObject({ kind: "FailedPrecondition" });
      await s.commit("c", "a");
      await s.prepare("d");
      await expect(s.commit("c", "d")).rejects.toMatchObject({ kind: "AlreadyExists" });
      await expect(s.commit("e", "c")).rejects.toMatchObject({ kind: "FailedPrecondition" });
      await expect(s.prepare("")).rejects.toMatchObject({ kind: "InvalidArgument" });
    });

    test("a view is read-only and cannot be committed", async () => {
      await s.prepare("a");
      await s.commit("base", "a");
      await s.view("v", "base");
      expect(await s.stat("v")).toMatchObject({ kind: "view", parent: "base" });
      await expect(s.commit("x", "v")).rejects.toMatchObject({ kind: "FailedPrecondition" });
      const mounts = await s.mounts("v");
      expect(mounts.every((m) => m.options.includes("ro") || m.type === "overlay")).toBe(true);
    });

    test("remove refuses a parent with children, then removes in order; missing is NotFound", async () => {
      await s.prepare("a");
      await s.commit("base", "a");
      await s.prepare("container", "base");
      await expect(s.remove("base")).rejects.toMatchObject({ kind: "FailedPrecondition" });
      await s.remove("container");
      await s.remove("base");
      expect(await s.list()).toEqual([]);
      await expect(s.remove("base")).rejects.toMatchObject({ kind: "NotFound" });
    });

    test("commit onto a parent stacks a layer prepared alone", async () => {
      await s.prepare("a");
      await s.commit("base", "a");
      await s.prepare("b");
      await s.commit("top", "b", { parent: "base" });
      expect(await s.stat("top")).toMatchObject({ parent: "base" });
      await s.prepare("c", "base");
      await expect(s.commit("x", "c", { parent: "top" })).rejects.toMatchObject({
        kind: "FailedPrecondition",
      });
    });

    test("usage counts a snapshot's own bytes and inodes, and list shows every snapshot", async () => {
      await s.prepare("a");
      await fx.writeFile("a", "big", 1024 * 1024);
      const active = await s.usage("a");
      expect(active.size).toBeGreaterThanOrEqual(1024 * 1024);
      expect(active.inodes).toBeGreaterThanOrEqual(2);
      await s.commit("layer", "a");
      expect(await s.usage("layer")).toEqual(active);
      await s.prepare("container", "layer");
      expect((await s.usage("container")).size).toBeLessThan(1024 * 1024);
      expect((await s.list()).map((i) => [i.name, i.kind]).sort()).toEqual([
        ["container", "active"],
        ["layer", "committed"],
      ]);
    });
  });
}

/**
 * skiff's image commands: pull, images, inspect, rmi, tag, push, save, load. They talk
 * to skiff-cri: the CRI ImageService for list/status, Skiff's Images service for the rest.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import type { Readable, Writable } from "node:stream";
import { formatReference, parseReference } from "../../core/registry/reference.js";
import type { ImageStatusResponse__Output } from "../../generated/runtime/v1/ImageStatusResponse.js";
import type { ListImagesResponse__Output } from "../../generated/runtime/v1/ListImagesResponse.js";
import type { Image__Output } from "../../generated/runtime/v1/Image.js";
import type { TransferProgress__Output } from "../../generated/skiff/v1/TransferProgress.js";
import type { UntagResponse__Output } from "../../generated/skiff/v1/UntagResponse.js";
import type { LoadResponse__Output } from "../../generated/skiff/v1/LoadResponse.js";
import type { ArchiveChunk__Output } from "../../generated/skiff/v1/ArchiveChunk.js";
import { rpc, type SkiffClients } from "../client.js";
import { humanSize, ProgressDisplay } from "./progress.js";

/** A command; a number it resolves to is skiff's exit status (0 otherwise). */
export type Command = (clients: SkiffClients, args: string[]) => Promise<void | number>;

/** A user error: printed as one line, exit 1. */
export class UsageError extends Error {}

/** Arguments the command cannot take: printed with the usage, exit 2. */
export class ArgumentError extends UsageError {}

function out(text: string): void {
  process.stdout.write(`${text}\n`);
}

function options<T extends ParseArgsOptionsConfig>(command: string, args: string[], opts: T) {
  try {
    return parseArgs({ args, options: opts, allowPositionals: true, strict: true as const });
  } catch (err) {
    throw new UsageError(`${command}: ${(err as Error).message}`);
  }
}

/** The full name of `text` when it is a name (busybox → docker.io/library/busybox:latest). */
function fullName(text: string): string | undefined {
  try {
    return formatReference(parseReference(text));
  } catch {
    return undefined;
  }
}

interface StatusInfo {
  id: string;
  names: string[];
  manifestDigest: string;
  chainId: string;
  imageSpec: {
    created?: string;
    architecture?: string;
    os?: string;
    config?: object;
    rootfs?: { type: string; diff_ids: string[] };
    history?: object[];
  };
}

async function status(
  c: SkiffClients,
  image: string,
): Promise<{ image: Image__Output; info: StatusInfo } | undefined> {
  const r = await rpc<ImageStatusResponse__Output>(c.image, "ImageStatus", {
    image: { image },
    verbose: true,
  });
  if (!r.image) return undefined;
  return { image: r.image, info: JSON.parse(r.info["info"] ?? "{}") as StatusInfo };
}

/** Streams a server-streaming call's TransferProgress into a display; returns image_ref. */
async function transfer(
  call: Readable,
  kind: "pull" | "push",
): Promise<{ ref: string; display: ProgressDisplay }> {
  const tty = process.stdout.isTTY === true;
  const display = new ProgressDisplay((t) => process.stdout.write(t), tty, kind);
  let ref = "";
  for await (const m of call as AsyncIterable<TransferProgress__Output>) {
    if (m.done) {
      ref = m.image_ref;
      continue;
    }
    display.update({
      blob: m.blob,
      status: m.status,
      current: Number(m.current),
      total: Number(m.total),
    });
  }
  return { ref, display };
}

const pull: Command = async (c, args) => {
  const { positionals, values } = options("pull", args, { quiet: { type: "boolean", short: "q" } });
  if (positionals.length !== 1)
    throw new UsageError("pull: give one image, e.g. skiff pull busybox:1.36");
  const image = positionals[0] as string;
  const name = fullName(image) ?? image;
  if (values.quiet) {
    const call = c.images.Pull({ image });
    let ref = "";
    for await (const m of call as unknown as AsyncIterable<TransferProgress__Output>)
      if (m.done) ref = m.image_ref;
    out(name);
    void ref;
    return;
  }
  if (!hasTag(image)) out("Using default tag: latest");
  const { ref, display } = await transfer(c.images.Pull({ image }) as unknown as Readable, "pull");
  out(
    display.nothingMoved()
      ? `Status: Image is up to date for ${name}`
      : `Status: Downloaded newer image for ${name}`,
  );
  out(`Image ID: ${ref}`);
};

function ago(created: string | undefined, now = Date.now()): string {
  const t = created ? Date.parse(created) : NaN;
  if (!Number.isFinite(t)) return "N/A";
  const s = Math.max(0, Math.round((now - t) / 1000));
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? "" : "s"} ago`;
  if (s < 60) return s < 1 ? "Less than a second ago" : plural(s, "second");
  if (s < 3600) return plural(Math.round(s / 60), "minute");
  if (s < 86400 * 2) return plural(Math.round(s / 3600), "hour");
  if (s < 86400 * 14) return plural(Math.round(s / 86400), "day");
  if (s < 86400 * 60) return plural(Math.round(s / 604800), "week");
  if (s < 86400 * 365 * 2) return plural(Math.round(s / 2592000), "month");
  return plural(Math.round(s / 31536000), "year");
}

/** True when `text` names a tag or digest ("host:5000/x" has none). */
function hasTag(text: string): boolean {
  return text.includes("@") || text.slice(text.lastIndexOf("/") + 1).includes(":");
}

const shortId = (id: string): string => id.replace(/^sha256:/, "").slice(0, 12);

function splitName(name: string): { repo: string; tag: string } {
  const at = name.indexOf("@");
  if (at >= 0) return { repo: name.slice(0, at), tag: name.slice(at + 1) };
  const colon = name.lastIndexOf(":");
  const slash = name.lastIndexOf("/");
  return colon > slash
    ? { repo: name.slice(0, colon), tag: name.slice(colon + 1) }
    : { repo: name, tag: "<none>" };
}

/** docker.io/library/busybox → busybox, as docker shows it. */
function familiar(repo: string): string {
  if (repo.startsWith("docker.io/library/")) return repo.slice("docker.io/library/".length);
  if (repo.startsWith("docker.io/")) return repo.slice("docker.io/".length);
  return repo;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 3)))
        .join("")
        .trimEnd(),
    )
    .join("\n");
}

const images: Command = async (c, args) => {
  const { positionals, values } = options("images", args, {
    quiet: { type: "boolean", short: "q" },
    digests: { type: "boolean" },
  });
  if (positionals.length > 1) throw new UsageError("images: at most one REPOSITORY[:TAG] filter");
  const list = await rpc<ListImagesResponse__Output>(c.image, "ListImages", {});
  let found = list.images;
  const filter = positionals[0];
  if (filter !== undefined) {
    const wanted = fullName(filter);
    const repoOnly = !hasTag(filter);
    found = found.filter((i) =>
      i.repo_tags.some(
        (t) => t === wanted || (repoOnly && splitName(t).repo === splitName(wanted ?? "").repo),
      ),
    );
  }
  if (values.quiet) {
    const ids = [...new Set(found.map((i) => shortId(i.id)))];
    if (ids.length > 0) out(ids.join("\n"));
    return;
  }
  const header = values.digests
    ? ["REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"]
    : ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"];
  const rows: string[][] = [header];
  for (const image of found) {
    const st = await status(c, image.id);
    const created = ago(st?.info.imageSpec.created);
    const size = humanSize(Number(image.size));
    const digestOf = (repo: string): string =>
      image.repo_digests.map(splitName).find((d) => d.repo === repo)?.tag ?? "<none>";
    const names =
      image.repo_tags.length > 0
        ? image.repo_tags.map(splitName)
        : [{ repo: "<none>", tag: "<none>" }];
    for (const { repo, tag } of names) {
      const row = [familiar(repo), tag];
      if (values.digests) row.push(digestOf(repo));
      row.push(shortId(image.id), created, size);
      rows.push(row);
    }
  }
  out(table(rows));
};

const inspect: Command = async (c, args) => {
  const { positionals } = options("inspect", args, {});
  if (positionals.length === 0) throw new UsageError("inspect: give at least one image");
  const result: object[] = [];
  const missing: string[] = [];
  for (const text of positionals) {
    const st = await status(c, text);
    if (!st) {
      missing.push(text);
      continue;
    }
    const spec = st.info.imageSpec;
    result.push({
      Id: st.image.id,
      RepoTags: st.image.repo_tags,
      RepoDigests: st.image.repo_digests,
      Created: spec.created ?? "",
      Architecture: spec.architecture ?? "",
      Os: spec.os ?? "",
      Size: Number(st.image.size),
      Config: spec.config ?? {},
      RootFS: { Type: spec.rootfs?.type ?? "layers", Layers: spec.rootfs?.diff_ids ?? [] },
      ManifestDigest: st.info.manifestDigest,
      History: spec.history ?? [],
    });
  }
  out(JSON.stringify(result, null, 2));
  if (missing.length > 0) throw new UsageError(`No such image: ${missing.join(", ")}`);
};

const rmi: Command = async (c, args) => {
  const { positionals, values } = options("rmi", args, { force: { type: "boolean", short: "f" } });
  if (positionals.length === 0) throw new UsageError("rmi: give at least one image");
  const failures: string[] = [];
  for (const text of positionals) {
    try {
      const st = await status(c, text);
      if (!st) {
        if (!values.force) failures.push(`No such image: ${text}`);
        continue;
      }
      const name = fullName(text);
      const isName =
        name !== undefined &&
        (st.image.repo_tags.includes(name) || st.image.repo_digests.includes(text));
      if (isName) {
        const r = await rpc<UntagResponse__Output>(c.images, "Untag", {
          name: st.image.repo_digests.includes(text) ? text : name,
        });
        out(`Untagged: ${name}`);
        if (r.image_removed) out(`Deleted: ${st.image.id}`);
        continue;
      }
      if (st.image.repo_tags.length > 1 && !values.force) {
        failures.push(
          `unable to delete ${shortId(st.image.id)} (must be forced) - image is referenced in multiple repositories`,
        );
        continue;
      }
      await rpc<UntagResponse__Output>(c.images, "Untag", { name: st.image.id });
      for (const tag of st.image.repo_tags) out(`Untagged: ${tag}`);
      out(`Deleted: ${st.image.id}`);
    } catch (err) {
      const e = err as Error & { details?: string };
      failures.push(e.details ?? e.message);
    }
  }
  if (failures.length > 0) throw new UsageError(failures.join("; "));
};

const tag: Command = async (c, args) => {
  const { positionals } = options("tag", args, {});
  if (positionals.length !== 2) throw new UsageError("tag: usage: skiff tag SOURCE TARGET");
  await rpc(c.images, "Tag", { source: positionals[0], target: positionals[1] });
};

const push: Command = async (c, args) => {
  const { positionals, values } = options("push", args, { quiet: { type: "boolean", short: "q" } });
  if (positionals.length !== 1) throw new UsageError("push: give one image name");
  const image = positionals[0] as string;
  const call = c.images.Push({ image }) as unknown as Readable;
  let digest: string;
  if (values.quiet) {
    digest = "";
    for await (const m of call as AsyncIterable<TransferProgress__Output>)
      if (m.done) digest = m.image_ref;
  } else {
    digest = (await transfer(call, "push")).ref;
  }
  const ref = parseReference(image);
  out(`${ref.tag ?? "latest"}: digest: ${digest}`);
};

async function drain(source: Readable, sink: Writable): Promise<void> {
  for await (const m of source as AsyncIterable<ArchiveChunk__Output>) {
    if (!sink.write(m.data)) await new Promise((r) => sink.once("drain", r));
  }
}

const save: Command = async (c, args) => {
  const { positionals, values } = options("save", args, {
    output: { type: "string", short: "o" },
    format: { type: "string" },
  });
  if (positionals.length === 0) throw new UsageError("save: give at least one image");
  const format = values.format ?? "oci";
  if (format !== "oci" && format !== "docker")
    throw new UsageError(`save: --format is oci or docker, not "${format}"`);
  if (values.output === undefined && process.stdout.isTTY)
    throw new UsageError(
      "save: refusing to write an archive to a terminal; use -o FILE or a redirect",
    );
  const call = c.images.Save({
    images: positionals,
    format: format === "docker" ? "DOCKER_ARCHIVE" : "OCI_LAYOUT",
  }) as unknown as Readable;
  if (values.output === undefined) {
    await drain(call, process.stdout);
    return;
  }
  const tmp = `${values.output}.skiff-save-${process.pid}`;
  const file = createWriteStream(tmp, { mode: 0o644 });
  const { rename, rm } = await import("node:fs/promises");
  try {
    await drain(call, file);
    await new Promise<void>((resolve, reject) =>
      file.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
    await rename(tmp, values.output);
  } catch (err) {
    file.destroy();
    await rm(tmp, { force: true });
    throw err;
  }
};

const load: Command = async (c, args) => {
  const { positionals, values } = options("load", args, {
    input: { type: "string", short: "i" },
    quiet: { type: "boolean", short: "q" },
  });
  if (positionals.length > 0) throw new UsageError("load: reads -i FILE or stdin; no arguments");
  if (values.input === undefined && process.stdin.isTTY)
    throw new UsageError("load: requested load from stdin, but stdin is a terminal; use -i FILE");
  const source =
    values.input === undefined
      ? process.stdin
      : createReadStream(values.input, { highWaterMark: 1 << 20 });
  const response = await new Promise<LoadResponse__Output>((resolve, reject) => {
    const call = c.images.Load((err, res) =>
      err ? reject(err) : resolve(res as LoadResponse__Output),
    );
    void (async () => {
      try {
        for await (const chunk of source) {
          if (!call.write({ data: chunk as Buffer }))
            await new Promise((r) => call.once("drain", r));
        }
        call.end();
      } catch (err) {
        call.cancel();
        reject(new UsageError(`load: ${(err as Error).message}`));
      }
    })();
  });
  for (const name of response.images)
    out(name.startsWith("sha256:") ? `Loaded image ID: ${name}` : `Loaded image: ${name}`);
};

export const imageCommands: Record<string, Command> = {
  pull,
  images,
  inspect,
  rmi,
  tag,
  push,
  save,
  load,
};

/**
 * Test child: starts an ingest of a 32 MiB blob under argv[2], writes half of it,
 * prints "ready <digest>" and waits to be killed (the crash-safety test SIGKILLs it).
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { Store } from "../../store/store.js";
import { LocalContentStore } from "../local-store.js";

const root = process.argv[2] as string;
const data = Buffer.alloc(32 * 1024 * 1024, 7);
const digest = `sha256:${createHash("sha256").update(data).digest("hex")}`;
const store = Store.open(join(root, "meta.db"));
const cs = await LocalContentStore.open(root, store);
const writer = await cs.writer({ digest, size: data.length });
await writer.write(data.subarray(0, data.length / 2));
process.stdout.write(`ready ${digest}\n`);
setInterval(() => void writer.write(Buffer.alloc(0)), 1000);

/**
 * Makes skiff-cri reload its configuration: the skiff.v1 Config/Reload RPC on its socket
 * (<host>/run/skiff/cri.sock). A missing socket means skiff-cri is not running; it will
 * read the drop-in when it starts.
 */
import { existsSync } from "node:fs";
import { connect, rpc } from "../../../cri/src/cli/client.js";

export type ReloadOutcome =
  { reloaded: true; message: string } | { reloaded: false; error: boolean; message: string };

export async function reloadSkiffCri(socket: string, timeoutMs = 5000): Promise<ReloadOutcome> {
  if (!existsSync(socket))
    return { reloaded: false, error: false, message: `skiff-cri is not running (no ${socket})` };
  const clients = connect(socket);
  try {
    const res = await rpc<{ files?: string[] }>(clients.config, "Reload", {}, timeoutMs);
    return { reloaded: true, message: `skiff-cri reloaded ${res.files?.length ?? 0} file(s)` };
  } catch (err) {
    return {
      reloaded: false,
      error: true,
      message: `skiff-cri Reload failed: ${(err as Error).message}`,
    };
  } finally {
    clients.close();
  }
}

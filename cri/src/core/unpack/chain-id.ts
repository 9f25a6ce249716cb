/**
 * Chain ids (OCI image-spec config.md): the identity of a stack of layers, so that
 * images sharing their first layers share those snapshots.
 *   ChainID(L0) = DiffID(L0);  ChainID(L0..Ln) = sha256(ChainID(L0..Ln-1) + " " + DiffID(Ln))
 */
import { sha256Digest, type Digest } from "../content/digest.js";

export function chainIds(diffIds: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const diffId of diffIds) {
    const previous = out[out.length - 1];
    out.push(previous === undefined ? diffId : sha256Digest(`${previous} ${diffId}`));
  }
  return out;
}

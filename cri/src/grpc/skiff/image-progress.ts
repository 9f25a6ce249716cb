/**
 * Turns a pull's or push's progress callbacks (synchronous, possibly thousands per
 * layer) into a stream of TransferProgress messages: every change of status is sent;
 * byte counts of one blob at most every 100 ms. Messages go out in order, each after
 * the previous one was handed to the transport.
 */
import type { TransferProgress } from "../../generated/skiff/v1/TransferProgress.js";

export interface ProgressEvent {
  blob: string;
  status: string;
  current: number;
  total: number;
}

export interface ProgressSender {
  push(event: ProgressEvent): void;
  /** Sends the final message and waits until everything was sent. */
  finish(imageRef: string): Promise<void>;
}

const intervalMs = 100;

export function progressSender(send: (m: TransferProgress) => Promise<void>): ProgressSender {
  const last = new Map<string, { status: string; at: number }>();
  let chain = Promise.resolve();
  let failure: unknown;
  const enqueue = (m: TransferProgress): void => {
    chain = chain
      .then(() => (failure === undefined ? send(m) : undefined))
      .catch((err) => {
        failure ??= err;
      });
  };
  return {
    push(event) {
      if (event.status === "done") return;
      const now = Date.now();
      const before = last.get(event.blob);
      if (before && before.status === event.status && now - before.at < intervalMs) return;
      last.set(event.blob, { status: event.status, at: now });
      enqueue({
        blob: event.blob,
        status: event.status,
        current: event.current,
        total: event.total,
      });
    },
    async finish(imageRef) {
      enqueue({ status: "done", done: true, image_ref: imageRef });
      await chain;
      if (failure !== undefined) throw failure;
    },
  };
}

import { describe, expect, test } from "@jest/globals";
import { initSignalDisposition } from "./init-signals.js";

const status = (nspid: string, cgt: string, ign = "0000000000000000") =>
  `Name:\tsh\nNSpid:\t${nspid}\nSigIgn:\t${ign}\nSigCgt:\t${cgt}\n`;

describe("initSignalDisposition", () => {
  test("a namespace init without a SIGTERM handler would drop it", () => {
    expect(initSignalDisposition(status("4242\t1", "0000000000000000"), 15)).toBe("dropped");
  });
  test("a handler (SigCgt bit 15 for SIGTERM) lets it through", () => {
    expect(initSignalDisposition(status("4242\t1", "0000000000004000"), 15)).toBe("handled");
    expect(initSignalDisposition(status("4242\t1", "0000000000004000"), 2)).toBe("dropped");
  });
  test("an ignored signal is the program's choice", () => {
    expect(initSignalDisposition(status("4242\t1", "0", "0000000000004000"), 15)).toBe("ignored");
  });
  test("a process that is not its namespace's init gets every signal", () => {
    expect(initSignalDisposition(status("4242\t7", "0"), 15)).toBe("not-init");
    expect(initSignalDisposition(status("4242", "0"), 15)).toBe("not-init");
  });
});

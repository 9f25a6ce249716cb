import { expect, test } from "@jest/globals";
import { readFileSync } from "node:fs";
import { skiffVersion } from "./version.js";

test("skiffVersion is package.json's version", () => {
  const pkg = JSON.parse(
    readFileSync(new URL("../../../../package.json", import.meta.url), "utf8"),
  );
  expect(skiffVersion).toBe(pkg.version);
});

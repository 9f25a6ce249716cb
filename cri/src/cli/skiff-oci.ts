/**
 * skiff-oci: runc's command-line interface over Skiff's container core. The verbs
 * (create, start, state, kill, delete, run, exec, list, spec) arrive with the core;
 * until then each answers that it is not implemented, with a non-zero exit.
 */
import { skiffVersion } from "../core/version.js";

const verbs = ["create", "start", "state", "kill", "delete", "run", "exec", "list", "spec"];
const [verb] = process.argv.slice(2).filter((a) => !a.startsWith("-"));

if (process.argv.includes("--version") || process.argv.includes("-v")) {
  process.stdout.write(`skiff-oci version ${skiffVersion}\nspec: 1.2.0\n`);
} else if (verb === undefined || process.argv.includes("--help") || process.argv.includes("-h")) {
  process.stdout.write(
    `usage: skiff-oci [global flags] COMMAND [args]\ncommands: ${verbs.join(", ")}\n`,
  );
  process.exitCode = verb === undefined && !process.argv.includes("--help") ? 2 : 0;
} else if (verbs.includes(verb)) {
  process.stderr.write(`skiff-oci: ${verb} is not implemented yet\n`);
  process.exitCode = 1;
} else {
  process.stderr.write(`skiff-oci: unknown command "${verb}"\n`);
  process.exitCode = 2;
}

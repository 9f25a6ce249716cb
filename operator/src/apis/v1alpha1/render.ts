/** The YAML text of each CRD file, as gen-crds.ts writes it and crds.test.ts checks it. */
import { stringify } from "yaml";
import { crdFileName, customResourceDefinitions } from "./crds.js";

const header =
  "# Generated from operator/src/apis/v1alpha1 by gen-crds.ts; do not edit.\n" +
  "# Regenerate: node dist/operator/src/apis/v1alpha1/gen-crds.js\n";

export const renderCrds = (): [string, string][] =>
  customResourceDefinitions().map((c) => [
    crdFileName(c),
    header + stringify(c, { lineWidth: 0, aliasDuplicateObjects: false }),
  ]);

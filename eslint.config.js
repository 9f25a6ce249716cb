// eslint: TypeScript rules, plus the layering of cri/src: imports only go down
// grpc → services → core, CRI message types (generated/) stop at services/, and
// circular imports fail.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import importX from "eslint-plugin-import-x";

const src = "./cri/src";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", ".toolchain/", "cri/native/", "cri/src/generated/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    plugins: { "import-x": importX },
    settings: {
      "import-x/resolver": { typescript: true },
      "import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
      "import-x/no-restricted-paths": [
        "error",
        {
          zones: [
            {
              target: `${src}/core`,
              from: [
                `${src}/services`,
                `${src}/grpc`,
                `${src}/streaming`,
                `${src}/cli`,
                `${src}/daemon`,
              ],
              message: "core/ is the bottom layer: it imports nothing above it",
            },
            {
              target: `${src}/core`,
              from: `${src}/generated`,
              message: "CRI message types stop at services/: core/ works on OCI specs",
            },
            {
              target: `${src}/services`,
              from: [`${src}/grpc`, `${src}/streaming`, `${src}/cli`, `${src}/daemon`],
              message: "services/ may import only core/ (imports go grpc → services → core)",
            },
          ],
        },
      ],
    },
  },
);

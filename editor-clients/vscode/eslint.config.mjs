// Lint: typescript-eslint's recommended rules plus a few of ruff-vscode's.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ["src/**/*.ts"],
    languageOptions: {
      parserOptions: { project: "./tsconfig.json", tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      eqeqeq: ["error", "always"],
      "no-console": "error",
      curly: "error",
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "max-lines": ["error", { max: 400, skipBlankLines: false, skipComments: false }],
      "max-lines-per-function": ["error", { max: 60, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    files: ["test/**/*.mjs", "*.mjs"],
    languageOptions: {
      // Node for the driver; the browser's for the functions it runs in the page (page.evaluate).
      globals: { ...globals.node, ...globals.browser },
    },
    rules: { "max-lines": ["error", { max: 400 }] },
  },
  { ignores: ["dist", "out", "node_modules", "**/*.d.ts"] },
);

// Jest runs the compiled tests in dist/ (tsc builds them beside the code), in ESM mode:
// `node --experimental-vm-modules node_modules/jest/bin/jest.js`.
//   *.test.ts       unit tests, no root needed
//   *.root.test.ts  tests on the real kernel, as root
//   e2e/**          end-to-end tests against real daemons and tools
export default {
  testEnvironment: "node",
  roots: ["<rootDir>/dist"],
  testMatch: ["**/*.test.js"],
  moduleFileExtensions: ["js", "json"],
  transform: {},
  testTimeout: 60000,
  maxWorkers: 2,
  // After all suites: skiff-cri's empty default pod cgroup parent (e2e/harness/cgroups.ts).
  globalTeardown: "<rootDir>/dist/e2e/harness/global-teardown.js",
};

/** @jest-config-loader esbuild-register */
import type { Config } from 'jest';

/** Browser tests: real headless Chromium driven by playwright-core. */
const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec/e2e/browser'],
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }] },
  moduleNameMapper: {
    '^rxtransfer$': '<rootDir>/lib/index.node.ts',
    '^rxtransfer/(.*)$': '<rootDir>/lib/$1/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testTimeout: 120_000,
  maxWorkers: 1,
};
export default config;

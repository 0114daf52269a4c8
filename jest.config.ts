/** @jest-config-loader esbuild-register */
import type { Config } from 'jest';

/**
 * Unit, property and loopback tests. TypeScript is compiled by ts-jest with
 * TypeScript 5.9 (ts-jest needs TypeScript < 7); type-checking is `npm run typecheck`.
 */
const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/spec/e2e/browser/', '/spec/bench/'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }] },
  moduleNameMapper: {
    '^rxtransfer$': '<rootDir>/lib/index.node.ts',
    '^rxtransfer/(.*)$': '<rootDir>/lib/$1/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testTimeout: 30_000,
};
export default config;

import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'docs/demo/dist/**', 'spec/.output/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { patterns: ['rxjs/internal/*'] }],
    },
  },
  {
    files: ['lib/internal/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['axios', 'fs', 'path', 'http', 'https', 'stream', 'crypto'],
        patterns: ['node:*', 'rxjs/internal/*'],
      }],
    },
  },
  {
    files: ['scripts/**/*.mjs', 'spec/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', Buffer: 'readonly' } },
  },
);

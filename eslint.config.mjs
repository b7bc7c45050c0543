// Lint: typescript-eslint's recommended rules, unused code is an error, and the domain
// core under nodes/lib/ may not import Node-RED or anything from nodes/ outside lib/.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'resources/**', 'node_modules/**', '.node-red/**', '.cache/**', '.ha/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        require: 'readonly', module: 'writable', process: 'readonly', console: 'readonly', __dirname: 'readonly',
        Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly',
        clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-unused-private-class-members': 'error',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['nodes/lib/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [
          { name: 'node-red', message: 'nodes/lib is the Node-RED-free core' },
          { name: '@node-red/runtime', message: 'nodes/lib is the Node-RED-free core' },
          { name: '@node-red/util', message: 'nodes/lib is the Node-RED-free core' },
        ],
        patterns: [
          { group: ['node-red/*', '@node-red/*'], message: 'nodes/lib is the Node-RED-free core' },
          { regex: '^(\\.\\./)+(shared|intercom-[^/]*)(/|$)', message: 'nodes/lib may not import nodes/ outside lib/' },
          { regex: '^(\\.\\./){2,}(?!lib/)[^.]', message: 'nodes/lib may not reach outside nodes/lib/' },
        ],
      }],
    },
  },
  {
    // the browser side of resources/intercom-editor.js; `lib` is the bundled nodes/lib/forms
    files: ['editor/**/*.js'],
    languageOptions: { sourceType: 'script', globals: { window: 'readonly', navigator: 'readonly', $: 'readonly', RED: 'readonly', Intl: 'readonly', lib: 'readonly' } },
  },
  {
    // The door page runs in the browser (plain ES modules, no build step).
    files: ['nodes/assets/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: {
        window: 'readonly', document: 'readonly', location: 'readonly', navigator: 'readonly', fetch: 'readonly',
        localStorage: 'readonly', crypto: 'readonly', performance: 'readonly', customElements: 'readonly', HTMLElement: 'readonly',
        MediaStream: 'readonly', AudioContext: 'readonly', AbortController: 'readonly', Blob: 'readonly', TextDecoder: 'readonly',
        URLSearchParams: 'readonly', Notification: 'readonly', addEventListener: 'readonly',
      },
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['test/**/*.ts', 'bench/**'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);

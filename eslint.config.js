// Lint: typed strict rules (no floating promises matters most: every simulated
// thread is an async function) plus the determinism ban on host clocks,
// randomness and timers in the model.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const hostNondeterminism = [
  { object: 'Math', property: 'random', message: 'Use the kernel chooser (k.choose / k.prng): runs must replay from a seed.' },
  { object: 'Date', property: 'now', message: 'Use virtual time (k.nowNs): runs must replay exactly.' },
  { object: 'performance', property: 'now', message: 'Use virtual time (k.nowNs): runs must replay exactly.' },
];
const hostTimers = ['setTimeout', 'setImmediate', 'setInterval'].map((name) => ({
  name,
  message: 'Use simulated timers (timerSetup/modTimer, msleep): runs must replay exactly.',
}));

export default tseslint.config(
  // bin/ and scripts/ are plain JavaScript that node runs directly (no type information).
  { ignores: ['dist/**', 'node_modules/**', 'bin/**', 'scripts/**', 'tmp/**', 'out/**', 'docs/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unnecessary-condition': 'off',
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/unified-signatures': 'off',
      '@typescript-eslint/no-invalid-void-type': 'off',
      '@typescript-eslint/no-unnecessary-type-parameters': 'off',
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      '@typescript-eslint/use-unknown-in-catch-callback-variable': 'off',
    },
  },
  {
    files: ['src/**/*.ts', 'scenarios/**/*.ts'],
    // The CLI, trace output and the test helpers (a wall-clock budget) run on the host, not in the model.
    ignores: ['src/cli/**', 'src/trace/**', 'src/vitest/**'],
    rules: {
      'no-restricted-properties': ['error', ...hostNondeterminism],
      'no-restricted-globals': ['error', ...hostTimers],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-empty-function': 'off',
    },
  },
);

// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';

const NO_DEEP = {
  group: ['@troupe/*/src', '@troupe/*/src/*', '@troupe/*/dist/*', '../../packages/*'],
  message: 'Import packages through their public entry points only.',
};

/** Seams of packages/runtime/src: folder → the src folders it must not import values from. */
function runtimeSeams() {
  const src = 'packages/runtime/src';
  const all = [
    'admission',
    'channel',
    'errors',
    'events',
    'health',
    'inspection',
    'options',
    'pool',
    'resources',
    'runner',
    'shutdown',
    'startup',
    'supervision',
    'task',
    'worker',
  ];
  const seams = {
    pool: [],
    channel: ['inspection'],
    admission: [],
    task: ['admission'],
    resources: ['inspection'],
    shutdown: ['inspection'],
    health: [],
    supervision: ['inspection'],
    events: [],
    startup: [],
    inspection: [],
    errors: [],
    worker: ['channel'],
  };
  const blocks = Object.entries(seams).map(([folder, allowed]) => {
    const banned = all.filter((f) => f !== folder && !allowed.includes(f));
    return {
      files: [`${src}/${folder}/**/*.ts`],
      rules: {
        'no-restricted-imports': 'off',
        '@typescript-eslint/no-restricted-imports': [
          'error',
          {
            patterns: [
              NO_DEEP,
              {
                group: banned.map((f) => `../${f}/*`),
                message: `${folder}/ may not import values from there (DESIGN.md: the runtime's seams).`,
                allowTypeImports: true,
              },
              ...(folder === 'pool'
                ? []
                : [{ group: ['piscina'], message: 'Only pool/ThreadPool.ts imports piscina.' }]),
              ...(folder === 'channel' || folder === 'worker'
                ? []
                : [
                    {
                      group: ['comlink'],
                      message: 'Comlink stays behind channel/ (and the worker entry).',
                    },
                  ]),
            ],
          },
        ],
      },
    };
  });
  return [
    {
      // Outside the seam folders (Troupe.ts wires them): only the dependency rules.
      files: [`${src}/*.ts`, `${src}/runner/**/*.ts`, `${src}/options/**/*.ts`],
      rules: {
        'no-restricted-imports': 'off',
        '@typescript-eslint/no-restricted-imports': [
          'error',
          {
            patterns: [
              NO_DEEP,
              { group: ['piscina'], message: 'Only pool/ThreadPool.ts imports piscina.' },
              {
                group: ['comlink'],
                message: 'Comlink stays behind channel/ (and the worker entry).',
              },
            ],
          },
        ],
      },
    },
    ...blocks,
  ];
}

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/.turbo/**',
      '**/coverage/**',
      'bench-results/**',
      '**/scratch/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: ['*.js', '*.mjs', 'packages/*/scripts/*.mjs'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true, allowNullish: true },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/no-invalid-void-type': 'off',
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      '@typescript-eslint/no-unnecessary-type-parameters': 'off',
      'no-restricted-imports': [
        'error',
        {
          patterns: [NO_DEEP],
        },
      ],
    },
  },
  {
    files: ['packages/*/src/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    files: ['packages/core/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: '@troupe/core stays free of Node APIs.' },
            {
              group: ['piscina', 'comlink', 'eventemitter3'],
              message: '@troupe/core depends on xstate only.',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        'process',
        'Buffer',
        'require',
        '__dirname',
        'setImmediate',
      ],
    },
  },
  // @troupe/runtime: each folder is a seam with the imports the design
  // allows (DESIGN.md, "Inside the runtime"). Types may cross seams; values
  // may not. piscina stays behind pool/, Comlink behind channel/ and worker/.
  ...runtimeSeams(),
  {
    files: ['**/*.test.ts', '**/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: globals.node } },
  prettier,
);

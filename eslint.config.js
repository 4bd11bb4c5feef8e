// Flat config: typed typescript-eslint rules plus the layering rules of STYLE.md §12.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

export default tseslint.config(
  { ignores: ['dist/**', 'dist-bench/**', 'dist-scripts/**', 'node_modules/**', 'bench-results/**', 'conformance/raw/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  ...tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      // strictTypeChecked forbids `!`; this stylistic rule would demand it instead of `as T`.
      '@typescript-eslint/non-nullable-type-assertion-style': 'off',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      'import-x/no-cycle': 'error',
      'import-x/no-restricted-paths': ['error', { zones: [
        { target: './src/scsi', from: ['./src/cam', './src/virtio'] },
        { target: './src/virtio', from: ['./src/cam', './src/scsi'] },
        { target: './src/cam/*.ts', from: ['./src/cam/xpt', './src/cam/periph', './src/cam/sim', './src/virtio'] },
        { target: './src/cam/xpt', from: ['./src/cam/periph', './src/cam/sim', './src/virtio'] },
        { target: './src/cam/periph', from: ['./src/cam/sim', './src/virtio'] },
        { target: './src/cam/periph', from: './src/cam/xpt', except: ['./periph-api.ts'] },
        { target: './src/cam/sim', from: './src/cam/periph' },
        { target: './src/cam/sim', from: './src/cam/xpt', except: ['./sim-api.ts'] },
        // The iSCSI front end drives LUNs through the pass periph only (ARCHITECTURE: iscsi imports cam's pass
        // interface and scsi); it never reaches the XPT, a SIM or virtio.
        { target: './src/iscsi', from: ['./src/virtio', './src/cam/sim', './src/cam/xpt', './src/stack.ts', './src/cli'] },
      ] }],
    },
  },
  {
    files: ['eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);

// The package entry names the types its documented API takes and returns, so
// that a consumer can write them down (not StackOptions['xpt']). They are
// types only, gone at run time: the compiler lists the entry's exports.

import { describe, expect, test } from 'vitest';
import ts from 'typescript';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(new URL('../src/index.ts', import.meta.url));

/** The names src/index.ts exports, as the compiler resolves them. */
function entryExports(): Set<string> {
  const program = ts.createProgram([ENTRY], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, noEmit: true, types: [] });
  const checker = program.getTypeChecker();
  const file = program.getSourceFile(ENTRY);
  const module = file === undefined ? undefined : checker.getSymbolAtLocation(file);
  if (module === undefined) throw new Error(`${ENTRY} did not load`);
  return new Set(checker.getExportsOfModule(module).map((s) => s.name));
}

describe('the package entry', () => {
  test('exports the types of stack.xpt, stack.sim, da, CamError and sense() and of the options they take', () => {
    const names = entryExports();
    const wanted = [
      // stack.xpt and its options (StackOptions.xpt); onAsync's callback
      'Xpt', 'XptOptions', 'CamClock', 'DevqTuning', 'ProbeOptions', 'AsyncCallback',
      // stack.sim
      'VtblkSim',
      // da: DaOptions.delays, da.capacity, da.deleteMethod, da.onUnitAttention
      'RecoveryDelays', 'DaCapacity', 'DeleteMethod', 'UnitAttentionListener',
      // new CamError(init); sense(key, code, extra)
      'CamErrorInit', 'SenseDetail',
    ];
    expect(wanted.filter((n) => !names.has(n))).toEqual([]);
  });

  test('exports every type a BlockCommandSet implementation writes in its method signatures', () => {
    const names = entryExports();
    // read/write/startRead/startWrite/flush/discard/writeZeroes take an abort check (OperationAborted).
    const wanted = ['BlockCommandSet', 'BlockGeometry', 'BlockStatus', 'BlockRange', 'OperationAborted'];
    expect(wanted.filter((n) => !names.has(n))).toEqual([]);
  });
});

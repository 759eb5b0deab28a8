/**
 * Compiles src/effects/simd/update.wat to wasm bytes with wabt (a dev
 * dependency): used by `npm run build:wasm` to regenerate updateWasm.ts, and
 * by the test that checks the embedded bytes still match the source.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

/** The .wat source: this file compiles to dist/tools/, two levels below the repository root. */
export const watPath = (): string =>
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'effects', 'simd', 'update.wat');

/** The module's bytes compiled from the .wat source. */
export const compileWat = async (): Promise<Uint8Array> => {
  const wabt = await wabtInit();
  const file = watPath();
  const mod = wabt.parseWat(path.basename(file), readFileSync(file, 'utf8'), { simd: true });
  try {
    mod.validate();
    return new Uint8Array(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
};

/**
 * Compiles src/effects/simd/update.wat to wasm bytes with wabt (a dev
 * dependency): used by `npm run build:wasm` to regenerate updateWasm.ts, and
 * by the test that checks the embedded bytes still match the source.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

/** The .wat source, found from the compiled file's place (dist/tools or dist/test/...). */
export const watPath = (): string => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!readdirHas(dir, 'package.json')) dir = path.dirname(dir);
  return path.join(dir, 'src', 'effects', 'simd', 'update.wat');
};

const readdirHas = (dir: string, name: string): boolean => {
  try {
    readFileSync(path.join(dir, name));
    return true;
  } catch {
    return dir === path.dirname(dir);
  }
};

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

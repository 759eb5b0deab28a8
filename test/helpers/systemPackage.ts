/**
 * A Debian package a test needs: the first of `files` that exists, else the
 * package installed with apt-get (as root; a fresh machine has no package
 * lists yet, and another test may hold apt's lock), else an Error saying what
 * to install. Tests that need one never skip for want of it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const systemPackage = (packages: readonly string[], files: readonly string[], need: string): string => {
  const found = files.find((p) => existsSync(p));
  if (found !== undefined) return found;
  const line = `apt-get install -y ${packages.join(' ')}`;
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) throw new Error(`${need}: install Debian's ${packages.map((p) => `\`${p}\``).join(', ')} (${line}, as root)`);
  console.log(`# installing ${packages.join(' ')} with apt-get (once)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args: string[]) => spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=300', ...args], { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  let r = apt(['install', '-y', ...packages]);
  if (r.status !== 0) {
    apt(['update']);
    r = apt(['install', '-y', ...packages]);
  }
  const installed = files.find((p) => existsSync(p));
  if (r.status !== 0 || installed === undefined) throw new Error(`${line} failed: ${(r.stderr ?? '').trim().split('\n').pop() ?? ''}`);
  return installed;
};

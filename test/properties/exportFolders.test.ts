/**
 * The folders of `cpg export --task all`: for any list of task names, no two
 * tasks map to one folder, not even where case or Unicode form is ignored;
 * every folder is one safe folder name; a task whose name is a safe folder
 * name, and first of its kind, gets exactly its name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { exportFolders, folderKey, safeFolderName } from '../../src/node/cli/exportFolders.js';

const RUNS = { seed: 27, numRuns: 400 } as const;

// Pieces that make names collide: separators, dots, case, the "~N" suffix, characters Windows refuses,
// device names, a precomposed and a decomposed é, ß and its upper case, wide and long characters.
const pieces = ['a', 'A', 'b', '_', '.', '..', '/', '\\', ':', '*', '~', '~2', '2', ' ', 'con', 'NUL', 'é', 'e\u0301', 'ß', 'SS', 'ss', '靴', '👟', 'x'.repeat(90)];
const arbName = fc.array(fc.constantFrom(...pieces), { minLength: 1, maxLength: 6 }).map((p) => p.join(''));
const arbNames = fc.uniqueArray(arbName, { minLength: 1, maxLength: 8 });

test('no two tasks ever map to one folder, even where case or Unicode form is ignored', () => {
  fc.assert(
    fc.property(arbNames, (names) => {
      const folders = exportFolders(names).map((f) => f.folder);
      assert.equal(new Set(folders.map(folderKey)).size, names.length, JSON.stringify(folders));
      assert.equal(new Set(folders.map((f) => f.toLowerCase())).size, names.length);
    }),
    RUNS,
  );
});

test('every folder is one safe name: no separator, not . or .., nothing Windows refuses or drops, at most 255 bytes', () => {
  fc.assert(
    fc.property(arbNames, (names) => {
      for (const { folder } of exportFolders(names)) {
        assert.ok(!/[/\\:*?"<>|\u0000-\u001f]/.test(folder), folder);
        assert.ok(folder !== '' && !folder.startsWith('.') && !/[. ]$/.test(folder), folder);
        assert.ok(!/^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i.test(folder), folder);
        assert.ok(new TextEncoder().encode(folder).length <= 255, folder);
        assert.equal(safeFolderName(folder), folder, 'already safe');
      }
    }),
    RUNS,
  );
});

test('a safe name that no earlier safe name shares is its own folder; any other folder says why', () => {
  fc.assert(
    fc.property(arbNames, (names) => {
      const out = exportFolders(names);
      const taken = new Set<string>();
      names.forEach((name, i) => {
        const f = out[i]!;
        assert.equal(f.task, name);
        const own = safeFolderName(name) === name && !taken.has(folderKey(name));
        if (own) taken.add(folderKey(name));
        assert.equal(f.folder === name, own, `${name} → ${f.folder}`);
        assert.equal(f.why === undefined, own);
      });
    }),
    RUNS,
  );
});

test("the issue's case: '../evil' and '___evil' get two folders; the name that is a folder name keeps it", () => {
  assert.deepEqual(
    exportFolders(['../evil', '___evil']).map((f) => f.folder),
    ['___evil~2', '___evil'],
  );
  const [upper, lower] = exportFolders(['Wear', 'wear']);
  assert.equal(upper!.folder, 'Wear');
  assert.notEqual(folderKey(lower!.folder), folderKey('Wear'));
  assert.match(lower!.why!, /case is ignored/);
});

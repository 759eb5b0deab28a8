/**
 * The folders `cpg export --task all` writes, one per task: a task's folder
 * is its name when that name is a safe folder name on every system and no
 * earlier task's folder takes it; otherwise a safe, distinct one. Two tasks
 * never share a folder, even on a file system that ignores case (macOS,
 * Windows) or Unicode normalisation (macOS), so an export never overwrites.
 *
 * New task names cannot hold '/' or '\' or be '.' or '..' (`checkTask`);
 * models learned before that rule may, and their tasks still export.
 */

/** A task's folder, and why it is not the task's name (undefined when it is). */
export interface ExportFolder {
  readonly task: string;
  readonly folder: string;
  readonly why: string | undefined;
}

// Refused in a folder name somewhere: separators everywhere, the rest on Windows; control characters break listings.
const unsafeChars = /[/\\:*?"<>|\u0000-\u001f\u007f]/g;
// Windows device names, with or without an extension, in any case.
const reserved = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;
// Most file systems allow 255 bytes a name; the rest leaves room for a "~N" suffix.
const maxBytes = 240;

const utf8Length = (s: string): number => new TextEncoder().encode(s).length;

/** The longest start of `s`, in whole characters, of at most `max` UTF-8 bytes. */
const cutBytes = (s: string, max: number): string => {
  if (utf8Length(s) <= max) return s;
  let out = '';
  let used = 0;
  for (const { segment } of new Intl.Segmenter().segment(s)) {
    used += utf8Length(segment);
    if (used > max) break;
    out += segment;
  }
  return out;
};

/**
 * A name as a folder name that means the same on every system: unsafe
 * characters, leading dots (hidden folders, '.', '..') and trailing dots
 * and spaces (Windows drops them) become '_', a Windows device name gets a
 * leading '_', and a very long name is cut.
 */
export const safeFolderName = (name: string): string => {
  const s = cutBytes(name, maxBytes)
    .replace(unsafeChars, '_')
    .replace(/^\.+/, (d) => '_'.repeat(d.length))
    .replace(/[. ]+$/, (d) => '_'.repeat(d.length));
  const named = s === '' ? '_' : s;
  return reserved.test(named) ? `_${named}` : named;
};

/** Folder names that one file system or another takes for the same folder share this key. */
export const folderKey = (folder: string): string => folder.normalize('NFKC').toUpperCase().toLowerCase();

/**
 * Each task's folder, in the tasks' order (the model's). First every task
 * whose name is a safe folder name claims it, unless an earlier such task's
 * folder has its key; then the others take their safe name, or that name with
 * "~2", "~3", … when the key is taken. The result depends only on the names
 * and their order, and no two folders share a key.
 */
export const exportFolders = (tasks: readonly string[]): readonly ExportFolder[] => {
  const owner = new Map<string, { readonly task: string; readonly folder: string }>();
  const chosen = new Map<number, ExportFolder>();
  tasks.forEach((task, i) => {
    if (safeFolderName(task) !== task || owner.has(folderKey(task))) return;
    owner.set(folderKey(task), { task, folder: task });
    chosen.set(i, { task, folder: task, why: undefined });
  });
  tasks.forEach((task, i) => {
    if (chosen.has(i)) return;
    const base = safeFolderName(task);
    let folder = base;
    for (let n = 2; owner.has(folderKey(folder)); n++) folder = `${base}~${n}`;
    const clash = owner.get(folderKey(base));
    owner.set(folderKey(folder), { task, folder });
    const why =
      clash === undefined
        ? 'its name is not a folder name on every system'
        : clash.folder === base
          ? `'${base}' is the folder of task '${clash.task}'`
          : `'${base}' and task '${clash.task}''s folder '${clash.folder}' are one folder where case is ignored`;
    chosen.set(i, { task, folder, why });
  });
  return tasks.map((_, i) => chosen.get(i)!);
};

/**
 * Finds the policy files below a folder and names them (SPEC §2): the path
 * below the folder without `.yaml`/`.yml`, `/`-separated. Dotfiles and
 * dot-folders (`.git`, Kubernetes' `..data`) and non-YAML files are skipped;
 * symbolic links are followed (ConfigMap mounts are made of them), each real
 * folder once.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { PolicyProblem } from '../model/parse-file.ts';

/** Policy names (SPEC §2). */
export const POLICY_NAME = /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/;

const YAML_EXTENSION = /\.ya?ml$/i;
const DIRECTORY_CONCURRENCY = 8;

/** A policy file found below the folder. */
export interface PolicyFileEntry {
  /** The policy name. */
  name: string;
  /** The path problems and policies are reported under (`<dir>/<relative>`). */
  file: string;
  /**
   * Where to read it, when reached through a symbolic link: the real path as
   * the walk found it, so the files read are the ones listed even if a link
   * is swapped after the listing (a ConfigMap update).
   */
  source?: string;
}

/** The policy files below a folder, and what is wrong with their names. */
export interface FoundPolicyFiles {
  entries: PolicyFileEntry[];
  /** Invalid names, name collisions and unreadable folders. */
  problems: PolicyProblem[];
  /**
   * Every symbolic link the walk followed, with where it led. Files are read
   * through their links after the walk; if a link leads elsewhere once they
   * are read (a ConfigMap's `..data` swapped in between), what was read may
   * mix two sets, and the load must start again (see {@link linksMoved}).
   */
  links: LinkTarget[];
}

/** A followed link and its target when the walk followed it. */
export interface LinkTarget {
  path: string;
  real: string;
}

/** True when any link now leads somewhere else than when the walk followed it (or nowhere). */
export async function linksMoved(links: readonly LinkTarget[]): Promise<boolean> {
  const now = await Promise.all(links.map(({ path }) => realpath(path).catch(() => undefined)));
  return links.some((link, index) => now[index] !== link.real);
}

/** Walks `dir` and names every policy file, reporting invalid and colliding names. */
export async function findPolicyFiles(dir: string): Promise<FoundPolicyFiles> {
  const problems: PolicyProblem[] = [];
  const links: LinkTarget[] = [];
  const listed = await walk(dir, problems, links);
  listed.sort((a, b) => (a.relative < b.relative ? -1 : a.relative > b.relative ? 1 : 0));
  // `<dir>/` once: path.join per file costs more than the rest of the naming together.
  const base = join(dir, '.');
  const prefix = base === '.' ? '' : base.endsWith(sep) ? base : base + sep;
  const entries: PolicyFileEntry[] = [];
  const byFoldedName = new Map<string, string[]>();
  for (const { relative, source } of listed) {
    const file = prefix + (sep === '/' ? relative : relative.replaceAll('/', sep));
    const dot = relative.lastIndexOf('.');
    const name = relative.slice(0, dot);
    const extension = relative.slice(dot);
    let valid = true;
    if (extension !== '.yaml' && extension !== '.yml') {
      valid = false;
      problems.push({ file, line: 1, column: 1, message: `the extension must be .yaml or .yml in lower case, not "${extension}"` });
    } else if (!POLICY_NAME.test(name)) {
      valid = false;
      problems.push({
        file,
        line: 1,
        column: 1,
        message: `"${name}" is not a valid policy name: use lower-case letters, digits, ".", "_" and "-", each path segment starting with a letter or digit`,
      });
    }
    // Valid names are lower case already; only the others need folding to find case collisions.
    const folded = valid ? name : name.toLowerCase();
    const group = byFoldedName.get(folded);
    if (group === undefined) byFoldedName.set(folded, [file]);
    else group.push(file);
    entries.push(source === undefined ? { name, file } : { name, file, source });
  }
  problems.push(...collisions(byFoldedName));
  return { entries, problems, links };
}

function collisions(byFoldedName: ReadonlyMap<string, string[]>): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  for (const [folded, files] of byFoldedName) {
    if (files.length < 2) continue;
    for (const file of files) {
      const others = files.filter((other) => other !== file).join(', ');
      problems.push({ file, line: 1, column: 1, message: `two files define the policy "${folded}" (ignoring case and extension): this one and ${others}` });
    }
  }
  return problems;
}

/** A YAML file the walk listed: its path below `dir` (`/`-separated), and where to read it if that differs. */
interface Listed {
  relative: string;
  source: string | undefined;
}

/** Every YAML file below `dir`, reading up to 8 folders at a time. */
async function walk(dir: string, problems: PolicyProblem[], links: LinkTarget[]): Promise<Listed[]> {
  const found: Listed[] = [];
  const visited = new Set<string>();
  const named = resolve(dir);
  const root = await realpath(dir).catch(() => named);
  // The folder itself may be a link (a mount swapped as a whole): its files are read below its real
  // path, and a move of it also means "read again".
  if (root !== named) links.push({ path: dir, real: root });
  const visit = async (relative: string, subfolders: string[]): Promise<void> => {
    const absolute = relative === '' ? dir : join(dir, relative);
    let entries;
    let real: string;
    try {
      real = await realpath(absolute);
      if (visited.has(real)) return;
      visited.add(real);
      // Listed through the real path, so what is read below is what this listing saw.
      entries = await readdir(real, { withFileTypes: true });
    } catch (error) {
      problems.push({ file: absolute, message: `cannot read the folder: ${errorCode(error)}` });
      return;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
      const isYaml = YAML_EXTENSION.test(entry.name);
      let kind: 'file' | 'folder' | 'other' = entry.isDirectory() ? 'folder' : entry.isFile() ? 'file' : 'other';
      // Outside a linked folder, a plain file is read where it is named.
      let source: string | undefined = real === (relative === '' ? named : join(named, relative)) ? undefined : join(real, entry.name);
      if (entry.isSymbolicLink()) {
        try {
          const path = join(real, entry.name);
          const [target, resolved] = await Promise.all([stat(path), realpath(path)]);
          kind = target.isDirectory() ? 'folder' : target.isFile() ? 'file' : 'other';
          links.push({ path: join(dir, child), real: resolved });
          source = resolved;
        } catch (error) {
          if (isYaml) problems.push({ file: join(dir, child), message: `cannot read the file: ${errorCode(error)}` });
          continue;
        }
      }
      if (kind === 'folder') subfolders.push(child);
      else if (kind === 'file' && isYaml) found.push({ relative: child, source });
    }
  };
  for (let level = ['']; level.length > 0; ) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += DIRECTORY_CONCURRENCY) {
      await Promise.all(level.slice(i, i + DIRECTORY_CONCURRENCY).map((relative) => visit(relative, next)));
    }
    level = next;
  }
  return found;
}

const errorCode = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? (error as Error).message;

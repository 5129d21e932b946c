/**
 * Checks over the whole workspace, read statically: every TypeScript file is type-checked by
 * `pnpm typecheck`, and every package's tsconfig references the workspace packages it depends
 * on, so that `tsc -b` (here, and in an image that builds one package) compiles them first.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import ts from 'typescript';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const readJson = (path: string): unknown => JSON.parse(readFileSync(join(repoRoot, path), 'utf8'));

/** A tsconfig.json as tsc reads it (comments and trailing commas allowed). */
function readTsconfig(path: string): { references?: Array<{ path: string }> } {
  const { config, error } = ts.readConfigFile(join(repoRoot, path), (file) => ts.sys.readFile(file));
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
  return config as { references?: Array<{ path: string }> };
}

/** Workspace package name → its directory, relative to the repository root. */
function workspacePackages(): Map<string, string> {
  const packages = new Map<string, string>();
  for (const parent of ['packages', 'services']) {
    for (const entry of readdirSync(join(repoRoot, parent), { withFileTypes: true })) {
      const dir = `${parent}/${entry.name}`;
      if (entry.isDirectory() && existsSync(join(repoRoot, dir, 'package.json')))
        packages.set((readJson(`${dir}/package.json`) as { name: string }).name, dir);
    }
  }
  return packages;
}

t.test(
  "every package's tsconfig references the workspace packages it depends on, so that `tsc -b` compiles them first",
  async (t) => {
    const packages = workspacePackages();
    t.ok(packages.size > 5, `finds the workspace packages (${packages.size})`);
    for (const dir of packages.values()) {
      if (!existsSync(join(repoRoot, dir, 'tsconfig.json'))) continue;
      const { dependencies = {} } = readJson(`${dir}/package.json`) as { dependencies?: Record<string, string> };
      const needed = Object.entries(dependencies)
        .filter(([, range]) => range.startsWith('workspace:'))
        .map(([name]) => packages.get(name)!)
        // Built by its own bundler (its prepare script), not by tsc.
        .filter(
          (dependency) =>
            existsSync(join(repoRoot, dependency, 'tsconfig.json')) &&
            !existsSync(join(repoRoot, dependency, 'vite.config.ts')),
        );
      const references = (readTsconfig(`${dir}/tsconfig.json`).references ?? []).map((reference) =>
        join(dir, reference.path),
      );
      t.same(
        needed.filter((dependency) => !references.includes(dependency)),
        [],
        `${dir}: references every workspace package it depends on`,
      );
    }
  },
);

/** The files of a tsconfig and of every project it references, transitively, as `tsc -b` builds them. */
function projectGraphFiles(configPath: string, seen = new Set<string>()): Set<string> {
  if (seen.has(configPath)) return new Set();
  seen.add(configPath);
  const host = {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic: ts.Diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  };
  const project = ts.getParsedCommandLineOfConfigFile(configPath, {}, host)!;
  const files = new Set(project.fileNames.map((file) => relative(repoRoot, file)));
  for (const reference of project.projectReferences ?? []) {
    for (const file of projectGraphFiles(ts.resolveProjectReferencePath(reference), seen)) files.add(file);
  }
  return files;
}

/** The repository's TypeScript files (not dependencies, build output or what runs write). */
function typeScriptFiles(dir = ''): string[] {
  return readdirSync(join(repoRoot, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory())
      return ['node_modules', 'dist', '.git', '.data', '.tap', 'logs', 'results'].includes(entry.name)
        ? []
        : typeScriptFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

t.test(
  '`pnpm typecheck` (tsc -b on the root tsconfig) type-checks every TypeScript file: sources, tests, infra and load tests',
  async (t) => {
    const checked = projectGraphFiles(join(repoRoot, 'tsconfig.json'));
    // Checked by the web UI's own build (`tsc -p` with the bundler's settings), not by the NodeNext graph.
    const checkedByWebUiBuild = ['packages/web-ui/vite.config.ts', 'packages/web-ui/index.d.ts'];
    const files = typeScriptFiles();
    t.ok(
      files.some((file) => file.startsWith('test/') && file.endsWith('.test.ts')),
      'finds the test files',
    );
    t.same(
      files.filter((file) => !checked.has(file) && !checkedByWebUiBuild.includes(file)),
      [],
      'every file is in a project the root tsconfig.json references',
    );
  },
);

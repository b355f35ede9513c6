// Reads the repository's Dockerfile and .dockerignore into plain data, so tests can check that what
// they run is what the image holds (no Docker engine runs here). Handles the subset the Dockerfile
// uses: comments, `\` continuations, ARG defaults, stages named with `AS`, exec-form JSON arrays.
import { readFileSync } from 'node:fs';
import { ROOT } from './processes.ts';

export interface Instruction {
  keyword: string;
  args: string;
}

export interface Copy {
  /** The stage copied from, or null for the build context. */
  from: string | null;
  sources: string[];
  destination: string;
}

export interface Stage {
  name: string;
  image: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARG defaults declared before the first FROM. */
  globalArgs: Record<string, string>;
  stages: Stage[];
  /** Lines starting with `#`, without the `#` and the space after it. */
  comments: string[];
}

export function readDockerfile(text = readFileSync(`${ROOT}Dockerfile`, 'utf8')): Dockerfile {
  const comments: string[] = [];
  const logical: string[] = [];
  let pending = '';
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed.startsWith('#')) {
      comments.push(trimmed.replace(/^#\s?/, ''));
      continue;
    }
    if (trimmed === '' && pending === '') continue;
    if (trimmed.endsWith('\\')) {
      pending += `${trimmed.slice(0, -1).trim()} `;
      continue;
    }
    logical.push(`${pending}${trimmed}`.trim());
    pending = '';
  }
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of logical.filter((l) => l !== '')) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    const upper = keyword.toUpperCase();
    if (upper === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!match?.[1]) throw new Error(`unreadable FROM: ${line}`);
      const image = match[1].replace(/\$\{(\w+)\}/g, (_, name: string) => globalArgs[name] ?? '');
      stages.push({ name: match[2] ?? String(stages.length), image, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) {
      if (upper !== 'ARG') throw new Error(`${upper} before the first FROM`);
      const [name = '', value = ''] = args.split('=');
      globalArgs[name] = value;
      continue;
    }
    stage.instructions.push({ keyword: upper, args });
  }
  return { globalArgs, stages, comments };
}

export function stage(dockerfile: Dockerfile, name: string): Stage {
  const found = dockerfile.stages.find((s) => s.name === name);
  if (!found) throw new Error(`the Dockerfile has no stage named ${name}`);
  return found;
}

export function instructions(of: Stage, keyword: string): string[] {
  return of.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
}

/** The arguments of one COPY instruction. */
export function parseCopy(args: string): Copy {
  const words = args.split(/\s+/);
  const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length) ?? null;
  const paths = words.filter((w) => !w.startsWith('--'));
  const destination = paths.pop();
  if (destination === undefined || paths.length === 0) throw new Error(`unreadable COPY: ${args}`);
  return { from, sources: paths, destination };
}

export function copies(of: Stage): Copy[] {
  return instructions(of, 'COPY').map(parseCopy);
}

/** An exec-form instruction (`["node", "x"]`); a shell-form one is an error, as it would swallow signals. */
export function execForm(of: Stage, keyword: 'ENTRYPOINT' | 'CMD'): string[] {
  const all = instructions(of, keyword);
  const last = all.at(-1);
  if (last === undefined) throw new Error(`the stage ${of.name} has no ${keyword}`);
  const parsed: unknown = JSON.parse(last);
  if (!Array.isArray(parsed) || !parsed.every((p): p is string => typeof p === 'string')) throw new Error(`${keyword} is not in exec form: ${last}`);
  return parsed;
}

/** `KEY=value` pairs of ENV, LABEL and ARG instructions; values may be quoted. */
export function pairs(of: Stage, keyword: 'ENV' | 'LABEL' | 'ARG'): Record<string, string> {
  const result: Record<string, string> = {};
  for (const args of instructions(of, keyword)) {
    for (const [, key = '', quoted, bare] of args.matchAll(/([\w.-]+)=(?:"([^"]*)"|(\S*))/g)) result[key] = quoted ?? bare ?? '';
  }
  return result;
}

/**
 * Whether the build context keeps `path`, by the .dockerignore rules the file uses: literal paths and
 * `*`, the last matching line wins, and a line matching a parent folder matches what is inside it.
 */
export function dockerignoreKeeps(rules: string[], path: string): boolean {
  const parts = path.split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let kept = true;
  for (const rule of rules) {
    const negated = rule.startsWith('!');
    const pattern = negated ? rule.slice(1) : rule;
    if (pattern !== '*' && /[*?[\]]/.test(pattern)) throw new Error(`dockerignoreKeeps does not handle the pattern ${rule}`);
    const matches = pattern === '*' ? true : prefixes.includes(pattern.replace(/\/$/, ''));
    if (matches) kept = negated;
  }
  return kept;
}

export function readDockerignore(text = readFileSync(`${ROOT}.dockerignore`, 'utf8')): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

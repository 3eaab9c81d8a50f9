// Readers for the files under deploy/, enough of each format for what those files use: systemd
// unit files, a Dockerfile, and the block-style YAML of compose.yaml (no YAML package for one file).

/** A unit file: section -> key -> every value given, in order (Environment= may repeat). */
export type Unit = Map<string, Map<string, string[]>>;

export function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | undefined;
  for (const line of text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((raw) => raw.trim())) {
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = new Map();
      unit.set(header[1]!, section);
      continue;
    }
    const equals = line.indexOf('=');
    if (!section || equals < 0) throw new Error(`not a unit file line: ${line}`);
    const key = line.slice(0, equals).trim();
    section.set(key, [...(section.get(key) ?? []), line.slice(equals + 1).trim()]);
  }
  return unit;
}

/** The value that counts (the last one given), or undefined when the key is absent. */
export function unitValue(unit: Unit, section: string, key: string): string | undefined {
  return unit.get(section)?.get(key)?.at(-1);
}

/** The variables that Environment= lines set (`KEY=value`, several a line, quoted or not). */
export function unitEnvironment(unit: Unit): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of unit.get('Service')?.get('Environment') ?? []) {
    for (const word of splitWords(line)) {
      const equals = word.indexOf('=');
      env[word.slice(0, equals)] = word.slice(equals + 1);
    }
  }
  return env;
}

/** `KEY=value` lines of an environment file; `#` lines are comments. */
export function parseEnvironmentFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n').map((raw) => raw.trim())) {
    if (line === '' || line.startsWith('#')) continue;
    const equals = line.indexOf('=');
    env[line.slice(0, equals)] = line.slice(equals + 1);
  }
  return env;
}

/** An ExecStart= command line as systemd runs it: words split at spaces, `${VAR}` replaced by one word. */
export function execWords(line: string, env: Record<string, string>): string[] {
  return splitWords(line).map((word) =>
    word.replace(/\$\{(\w+)\}/g, (_, name: string) => {
      const value = env[name];
      if (value === undefined) throw new Error(`\${${name}} is not set in the unit's environment`);
      return value;
    }),
  );
}

function splitWords(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g)].map((match) => match[1] ?? match[2] ?? match[3]!);
}

/** A systemd time span in seconds: `45`, `45s`, `1min 30s`, `500ms`. */
export function systemdSeconds(text: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, sec: 1, m: 60, min: 60, h: 3600, hr: 3600, d: 86_400 };
  const parts = [...text.trim().matchAll(/(\d+(?:\.\d+)?)\s*([a-z]*)/g)];
  if (parts.length === 0) throw new Error(`not a time span: ${text}`);
  return parts.reduce((sum, [, number, unit]) => {
    const scale = unit === '' ? 1 : units[unit!];
    if (scale === undefined) throw new Error(`unknown time unit in ${text}`);
    return sum + Number(number) * scale;
  }, 0);
}

/** A usergen duration (`30s`, `200ms`, `1h`) in seconds. */
export function usergenSeconds(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!match) throw new Error(`not a usergen duration: ${text}`);
  return Number(match[1]) * { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
}

/** The value after `option` in `args`, or undefined. */
export function optionValue(args: string[], option: string): string | undefined {
  const at = args.indexOf(option);
  return at < 0 ? undefined : args[at + 1];
}

export interface Instruction {
  /** Upper case: FROM, RUN, COPY, ... */
  name: string;
  args: string;
}

/** A Dockerfile's stages (each FROM starts one), their instructions with continuation lines joined. */
export function parseDockerfile(text: string): Instruction[][] {
  const stages: Instruction[][] = [];
  const logical = text
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ');
  for (const line of logical.split('\n').map((raw) => raw.trim())) {
    if (line === '') continue;
    const [, name, args] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (!name || args === undefined) throw new Error(`not a Dockerfile instruction: ${line}`);
    const instruction = { name: name.toUpperCase(), args: args.trim() };
    if (instruction.name === 'FROM') stages.push([]);
    const stage = stages.at(-1);
    if (!stage) throw new Error('a Dockerfile instruction before the first FROM');
    stage.push(instruction);
  }
  return stages;
}

export type Yaml = string | boolean | Yaml[] | { [key: string]: Yaml };

/**
 * Block-style YAML: mappings and sequences by indentation, plain, quoted and `true`/`false`
 * scalars, and flow sequences written as JSON (`["worker", "--grace", "30s"]`). No anchors, no
 * multi-line scalars, no comments after a value: anything else is refused, not misread.
 */
export function parseYaml(text: string): Yaml {
  const lines = text
    .split('\n')
    .map((raw) => ({ indent: raw.length - raw.trimStart().length, text: raw.trim() }))
    .filter((line) => line.text !== '' && !line.text.startsWith('#'));
  let at = 0;

  function block(indent: number): Yaml {
    const first = lines[at];
    if (!first || first.indent !== indent) throw new Error(`YAML: expected a block at indent ${indent}`);
    if (first.text.startsWith('- ')) {
      const items: Yaml[] = [];
      while (lines[at]?.indent === indent && lines[at]!.text.startsWith('- ')) items.push(scalar(lines[at++]!.text.slice(2)));
      return items;
    }
    const map: { [key: string]: Yaml } = {};
    while (lines[at]?.indent === indent) {
      const line = lines[at++]!;
      const [, key, rest] = /^([\w.-]+):(?:\s+(.*))?$/.exec(line.text) ?? [];
      if (key === undefined) throw new Error(`YAML: not a key: ${line.text}`);
      if (rest !== undefined) map[key] = scalar(rest);
      else map[key] = lines[at] && lines[at]!.indent > indent ? block(lines[at]!.indent) : '';
    }
    if (lines[at] && lines[at]!.indent > indent) throw new Error(`YAML: unexpected indent: ${lines[at]!.text}`);
    return map;
  }

  function scalar(text: string): Yaml {
    if (text.startsWith('[')) return JSON.parse(text) as Yaml[];
    if (text.startsWith('"')) return JSON.parse(text) as string;
    if (text.startsWith("'")) return text.slice(1, -1).replace(/''/g, "'");
    if (/\s#/.test(text) || /^[&*!|>{]/.test(text)) throw new Error(`YAML: not supported here: ${text}`);
    return text === 'true' ? true : text === 'false' ? false : text;
  }

  const document = block(0);
  if (at !== lines.length) throw new Error(`YAML: unread from: ${lines[at]!.text}`);
  return document;
}

import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { ConfigIssue } from './errors.ts';

/**
 * Reading and parsing config files: YAML or JSON by extension (`.yaml`, `.yml`, `.json`), by content
 * otherwise. Parse errors name the line and column but never quote the text, which may hold a secret.
 */

export type Format = 'yaml' | 'json';

export interface ParsedFile {
  /** As the user wrote it (`images.yaml`, `input "images"`): what messages name. */
  readonly name: string;
  /** Directory relative paths inside the file are resolved from. */
  readonly dir: string;
  readonly data: unknown;
}

export function formatOf(path: string): Format | undefined {
  const ext = extname(path).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  return ext === '.json' ? 'json' : undefined;
}

/**
 * A file relative to `cwd`, parsed; or the one problem that stops it being read. One that cannot be
 * read at all is named with the option it was given as (`input "config": sync.yaml`), when known.
 */
export async function readConfigFile(
  name: string,
  cwd: string,
  givenAs?: string,
): Promise<ParsedFile | ConfigIssue> {
  const path = resolve(cwd, name);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? `file not found (${path})`
        : code === 'EISDIR'
          ? `is a directory, not a file (${path})`
          : code === 'EACCES'
            ? `cannot be read: permission denied (${path})`
            : `cannot be read: ${code ?? (err as Error).message} (${path})`;
    return { file: givenAs === undefined ? name : `${givenAs}: ${name}`, message: why };
  }
  const parsed = parseText(text, name, formatOf(path));
  return 'message' in parsed ? parsed : { name, dir: dirname(path), data: parsed.data };
}

/** Text in a known format, or found out from its content: `{` or `[` that parses as JSON is JSON; the rest is YAML. */
export function parseText(text: string, name: string, format?: Format): { data: unknown } | ConfigIssue {
  const body = text.replace(/^\uFEFF/, '');
  if (format === 'json') return parseJson(body, name);
  if (format === 'yaml') return parseYaml(body, name);
  if (/^\s*[[{]/.test(body)) {
    const json = parseJson(body, name);
    if (!('message' in json)) return json;
    const yaml = parseYaml(body, name);
    return 'message' in yaml ? json : yaml;
  }
  return parseYaml(body, name);
}

function parseYaml(text: string, name: string): { data: unknown } | ConfigIssue {
  const doc = parseDocument(text, { merge: true, prettyErrors: true });
  const error = doc.errors[0];
  if (error !== undefined) {
    const at = error.linePos?.[0];
    // The first sentence only: the rest quotes the source, and "token: "x"" names a piece of it.
    const what = (error.message.split('\n')[0] ?? '')
      .replace(/ at line \d+, column \d+:?$/, '')
      .replace(/:\s*".*"$/, '')
      .replace(/\s+"[^"]*"/g, '');
    return {
      file: name,
      message: `not valid YAML${at === undefined ? '' : ` at line ${at.line}, column ${at.col}`}: ${what}`,
    };
  }
  return { data: doc.toJS() };
}

function parseJson(text: string, name: string): { data: unknown } | ConfigIssue {
  try {
    return { data: JSON.parse(text) };
  } catch (err) {
    const message = (err as Error).message;
    const at = jsonErrorPosition(text, message);
    // V8's words without the piece of text it quotes (`Unexpected token 's', ..."word": s3cr"...`).
    const what = (
      message.replace(/ token '.'/, ' token').split(/, "|, \.\.\.| in JSON| after JSON| at position/)[0] ?? ''
    )
      .replace(/".*$/s, '')
      .trim();
    return {
      file: name,
      message: `not valid JSON${at === undefined ? '' : ` at line ${at.line}, column ${at.col}`}: ${what}`,
    };
  }
}

/** V8 says where, in most of its messages; else YAML's parser, with the JSON schema, finds the spot. */
function jsonErrorPosition(text: string, message: string): { line: number; col: number } | undefined {
  const v8 = /\(line (\d+) column (\d+)\)/.exec(message);
  if (v8 !== null) return { line: Number(v8[1]), col: Number(v8[2]) };
  if (/Unexpected end of JSON input/.test(message)) {
    const lines = text.split('\n');
    return { line: lines.length, col: (lines.at(-1)?.length ?? 0) + 1 };
  }
  return parseDocument(text, { schema: 'json' }).errors[0]?.linePos?.[0];
}

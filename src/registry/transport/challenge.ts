/** Parses `WWW-Authenticate` headers (RFC 7235): `Bearer realm="…",service="…",scope="…"`, `Basic realm="…"`. */

export interface Challenge {
  /** Lower-case scheme: `basic`, `bearer`, … */
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;

/** One header value may carry several challenges; several header values may be given. */
export function parseChallenges(header: string | readonly string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const values = typeof header === 'string' ? [header] : header;
  return values.flatMap(parseOne);
}

function parseOne(input: string): Challenge[] {
  const out: Challenge[] = [];
  let rest = input.trim();
  let current: { scheme: string; params: Record<string, string> } | undefined;
  while (rest.length > 0) {
    rest = rest.replace(/^[\s,]+/, '');
    const name = TOKEN.exec(rest)?.[0];
    if (name === undefined) break;
    const after = rest.slice(name.length).replace(/^\s+/, '');
    if (after.startsWith('=') && current !== undefined) {
      const parsed = parseValue(after.slice(1).replace(/^\s+/, ''));
      current.params[name.toLowerCase()] = parsed.value;
      rest = parsed.rest;
      continue;
    }
    current = { scheme: name.toLowerCase(), params: {} };
    out.push(current);
    rest = after;
  }
  return out;
}

function parseValue(input: string): { value: string; rest: string } {
  if (!input.startsWith('"')) {
    const end = input.search(/[\s,]/);
    return end === -1 ? { value: input, rest: '' } : { value: input.slice(0, end), rest: input.slice(end) };
  }
  let value = '';
  for (let i = 1; i < input.length; i++) {
    const ch = input[i];
    if (ch === '\\' && i + 1 < input.length) value += input[++i];
    else if (ch === '"') return { value, rest: input.slice(i + 1) };
    else value += ch;
  }
  return { value, rest: '' };
}

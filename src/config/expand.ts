/**
 * `${VAR}` expansion in string values, after parsing (so YAML/JSON quoting never matters). Only the
 * braced form: a bare `$` is literal, as in Harbor robot accounts (`robot$project+ci`). An unset
 * variable is an error naming it, never a silent empty string. There is no escape for `${`: a
 * credential that holds it (a generated password) comes through a variable, as values are not
 * expanded again.
 */

export type Expansion =
  | {
      readonly ok: true;
      readonly value: string /** Variables that are set but empty. */;
      readonly empty: string[];
    }
  /** `written` when the text itself is not well formed (as opposed to a variable that is not set). */
  | { readonly ok: false; readonly problem: string; readonly written?: true };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function expandVars(text: string, env: Readonly<Record<string, string | undefined>>): Expansion {
  if (!text.includes('${')) return { ok: true, value: text, empty: [] };
  const missing: string[] = [];
  const empty: string[] = [];
  let out = '';
  let at = 0;
  for (let open = text.indexOf('${'); open !== -1; open = text.indexOf('${', at)) {
    out += text.slice(at, open);
    const close = text.indexOf('}', open + 2);
    // The text around is never quoted back: it may be part of a password.
    if (close === -1) return { ok: false, problem: '"${" without a closing "}"', written: true };
    const name = text.slice(open + 2, close);
    if (!NAME.test(name))
      return {
        ok: false,
        problem: '"${…}" holds something other than a variable name (letters, digits, _)',
        written: true,
      };
    const value = env[name];
    if (value === undefined) {
      if (!missing.includes(name)) missing.push(name);
    } else {
      if (value === '' && !empty.includes(name)) empty.push(name);
      out += value;
    }
    at = close + 1;
  }
  out += text.slice(at);
  if (missing.length === 1) return { ok: false, problem: `environment variable ${missing[0]} is not set` };
  if (missing.length > 1)
    return { ok: false, problem: `environment variables ${missing.join(', ')} are not set` };
  return { ok: true, value: out, empty };
}

/**
 * Secrets known so far — credentials sent, tokens received, values read from configs — and their
 * base64 forms, to be taken out of any text before it is shown. The transport scrubs what registries
 * say back (some echo the request's `Authorization` header in their errors); the CLI scrubs every
 * line it writes.
 */
export class Secrets {
  readonly #added = new Set<string>();
  readonly #secrets = new Set<string>();
  #ordered: string[] = [];

  /** A secret and its base64 form; one or two characters are left, as replacing them blanks out words. */
  add(secret: string | undefined): void {
    if (secret === undefined || secret.length < 3 || this.#added.has(secret)) return;
    this.#added.add(secret);
    this.#secrets.add(secret);
    this.#secrets.add(Buffer.from(secret).toString('base64'));
    // Longest first, so that `base64(user:password)` goes before the `password` inside it.
    this.#ordered = [...this.#secrets].sort((a, b) => b.length - a.length);
  }

  /** An `Authorization` header value: its credentials, after the scheme. */
  addHeader(value: string): void {
    this.add(value.replace(/^\S+\s+/, ''));
  }

  /** `text` with every known secret replaced by `***`. */
  readonly scrub = (text: string): string => {
    let out = text;
    for (const s of this.#ordered) if (out.includes(s)) out = out.split(s).join('***');
    return out;
  };
}

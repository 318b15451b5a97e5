/**
 * The credentials one transport has sent, so that they can be taken out of what a registry says back:
 * some registries and proxies put the request's headers (`Authorization: Basic …`, `Bearer …`) into
 * their error messages, and those messages are shown to the user.
 */
export class SentSecrets {
  readonly #secrets = new Set<string>();
  #ordered: string[] = [];

  /** A secret as it was sent, and its base64 form. Very short values are not worth replacing. */
  add(secret: string | undefined): void {
    if (secret === undefined || secret.length < 4 || this.#secrets.has(secret)) return;
    this.#secrets.add(secret);
    this.#secrets.add(Buffer.from(secret).toString('base64'));
    // Longest first, so that `base64(user:password)` goes before the `password` inside it.
    this.#ordered = [...this.#secrets].sort((a, b) => b.length - a.length);
  }

  /** An `Authorization` header value: its credentials, after the scheme. */
  addHeader(value: string): void {
    this.add(value.replace(/^\S+\s+/, ''));
  }

  /** `text` with every sent secret replaced by `***`. */
  readonly scrub = (text: string): string => {
    let out = text;
    for (const s of this.#ordered) if (out.includes(s)) out = out.split(s).join('***');
    return out;
  };
}

import * as core from '@actions/core';
import type { LoadedConfig } from '../config/index.ts';

const masked = new Set<string>();

function mask(value: string): void {
  if (value === '' || masked.has(value)) return;
  masked.add(value);
  core.setSecret(value);
}

/** Masks a secret and the form it travels in inside Basic headers and Docker configs: base64. */
export function maskSecret(secret: string): void {
  mask(secret);
  if (secret !== '') mask(Buffer.from(secret).toString('base64'));
}

/** A token a registry handed out: only ever sent as it is. */
export function maskToken(token: string): void {
  mask(token);
}

/** The `user:password` base64 form that Basic auth and Docker configs carry. */
export function maskCredentials(config: LoadedConfig): void {
  for (const [, entry] of config.auth.entries()) {
    for (const secret of [entry.password, entry.token]) {
      if (secret === undefined) continue;
      maskSecret(secret);
      if (entry.username !== undefined) maskSecret(`${entry.username}:${secret}`);
    }
  }
}

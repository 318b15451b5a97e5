import * as core from '@actions/core';
import type { LoadedConfig } from '../config/index.ts';

/** Masks a secret and the forms it travels in: base64 on its own. */
export function maskSecret(secret: string): void {
  if (secret === '') return;
  core.setSecret(secret);
  core.setSecret(Buffer.from(secret).toString('base64'));
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

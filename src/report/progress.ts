import { formatReference } from '../registry/reference.ts';
import type { SyncEvent } from '../sync/types.ts';
import { formatBytes } from './format.ts';

/** Counts what the engine reports and says where the run is, in one line. */
export class Progress {
  #total = 0;
  #done = 0;
  #failed = 0;
  #bytes = 0;
  readonly #started = performance.now();

  onEvent(event: SyncEvent): void {
    if (event.type === 'planned') this.#total += event.tasks.length + event.unplanned.length;
    else if (event.type === 'bytes') this.#bytes += event.bytes;
    else if (event.type === 'task-finished') {
      this.#done++;
      if (event.result.status === 'failed') this.#failed++;
    }
  }

  line(): string {
    const seconds = Math.max((performance.now() - this.#started) / 1000, 0.001);
    const rate = formatBytes(Math.round(this.#bytes / seconds));
    const failed = this.#failed > 0 ? `, ${this.#failed} failed` : '';
    return `${this.#done}/${this.#total} tags done${failed} · ${formatBytes(this.#bytes)} copied · ${rate}/s`;
  }

  /** Logs the line every `everyMs` until the returned stop function is called. */
  every(everyMs: number, log: (line: string) => void): () => void {
    const timer = setInterval(() => log(this.line()), everyMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}

/** Buffers each destination repository's lines and hands them over as one group once its last tag is done. */
export class RepositoryGroups {
  readonly #remaining = new Map<string, number>();
  readonly #lines = new Map<string, string[]>();
  readonly #flush: (repository: string, lines: readonly string[]) => void;

  constructor(flush: (repository: string, lines: readonly string[]) => void) {
    this.#flush = flush;
  }

  onEvent(event: SyncEvent, describe: (e: Extract<SyncEvent, { type: 'task-finished' }>) => string): void {
    if (event.type === 'planned') {
      const repos = [
        ...event.tasks.map((t) => formatReference(t.destination)),
        ...event.unplanned.map((r) => r.destination),
      ].map(repoOf);
      for (const repo of repos) this.#remaining.set(repo, (this.#remaining.get(repo) ?? 0) + 1);
      return;
    }
    if (event.type !== 'task-finished') return;
    const repo = repoOf(event.result.destination);
    const lines = this.#lines.get(repo) ?? [];
    lines.push(describe(event));
    this.#lines.set(repo, lines);
    const left = (this.#remaining.get(repo) ?? 1) - 1;
    this.#remaining.set(repo, left);
    if (left <= 0) this.#emit(repo);
  }

  /** Whatever is still buffered (tags that never finished, listing failures). */
  end(): void {
    for (const repo of [...this.#lines.keys()]) this.#emit(repo);
  }

  #emit(repo: string): void {
    const lines = this.#lines.get(repo);
    this.#lines.delete(repo);
    if (lines !== undefined && lines.length > 0) this.#flush(repo, lines);
  }
}

function repoOf(reference: string): string {
  return reference.replace(/@.*$/, '').replace(/:[^/:]+$/, '');
}

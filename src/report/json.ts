import type { SyncReport } from '../sync/results.ts';
import type { Status } from '../sync/types.ts';
import { explain } from './explain.ts';

export interface JsonResult {
  readonly source: string;
  readonly destination: string;
  readonly status: Status;
  readonly digest: string | null;
  readonly sourceDigest?: string;
  readonly bytes: number;
  /** Signatures, attestations and other referrers copied with the image. */
  readonly referrers: number;
  readonly durationMs: number;
  readonly error: string | null;
}

export interface JsonReport {
  readonly results: JsonResult[];
  readonly totals: SyncReport['totals'];
  readonly dryRun: boolean;
}

/** The `--report` / `report` output: one record per destination tag, full references. */
export function toJsonReport(report: SyncReport): JsonReport {
  return {
    results: report.results.map((r) => ({
      source: r.source,
      destination: r.destination,
      status: r.status,
      digest: r.digest ?? null,
      ...(r.sourceDigest !== undefined && { sourceDigest: r.sourceDigest }),
      bytes: r.bytes,
      referrers: r.referrers,
      durationMs: r.durationMs,
      error: r.error === undefined ? null : explain(r.error).reason,
    })),
    totals: report.totals,
    dryRun: report.dryRun,
  };
}

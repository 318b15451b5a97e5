import { header } from '../transport/check.ts';
import { type RepoContext, repoPath } from './context.ts';

const PAGE_SIZE = 1000;
const MAX_PAGES = 1000;

/** All tags, following `Link: <…>; rel="next"` pagination. */
export async function listTags(ctx: RepoContext): Promise<string[]> {
  const tags: string[] = [];
  let path: string | URL = `${repoPath(ctx, 'tags/list')}?n=${PAGE_SIZE}`;
  for (let page = 0; page < MAX_PAGES; page++) {
    const res = await ctx.transport.request({
      method: 'GET',
      path,
      scopes: ctx.scopes,
      expect: [200],
      ...(ctx.signal !== undefined && { signal: ctx.signal }),
    });
    const body = (await res.body.json()) as { tags?: unknown };
    if (Array.isArray(body.tags)) tags.push(...body.tags.filter((t): t is string => typeof t === 'string'));
    const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(header(res, 'link') ?? '')?.[1];
    if (next === undefined) break;
    path = new URL(next, res.url);
  }
  return tags;
}

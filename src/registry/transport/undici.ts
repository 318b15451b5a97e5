/**
 * The two parts of undici this project uses. Importing undici's root evaluates fetch, WebSocket,
 * caches and mocks as well; in the bundled CLI that was about a third of every start-up.
 */
import type { Dispatcher } from 'undici';
import dispatchRequest from 'undici/lib/api/api-request.js';
import Agent from 'undici/lib/dispatcher/agent.js';

export { Agent };

/** `dispatcher.request(options)`, without the root module that attaches it to every dispatcher. */
export function request(
  dispatcher: Dispatcher,
  options: Dispatcher.RequestOptions,
): Promise<Dispatcher.ResponseData> {
  return dispatchRequest.call(dispatcher, options);
}

/** What a registry turned out to offer, learned once per run and shared by all its repositories. */
export class RegistryFeatures {
  /**
   * Whether the OCI 1.1 referrers API exists: settled by the first answer. The spec forbids a
   * registry that has the API to answer 404, so one 404 (or 405) stands for every later digest.
   */
  referrersApi: Promise<boolean> | undefined;
}

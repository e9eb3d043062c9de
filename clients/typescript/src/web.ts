// TypeScript client for the cif.v1 control plane, in a browser: the core (./core.ts) over
// Connect's grpc-web transport (fetch), which cifd serves on its gRPC port.

import { createGrpcWebTransport } from "@connectrpc/connect-web";

import { authenticating, baseUrl, remembering, rolesOver, type Seen } from "./core.js";

export * from "./core.js";

/** A channel provider's, an agent's desktop's and an operator's calls, over grpc-web to an
 * endpoint (a base URL; the page's own origin for cifd's pages). */
export const { provider, agent, admin } = rolesOver((endpoint) => {
  const seen: Seen = { stored: 0 };
  return (credential) =>
    createGrpcWebTransport({
      baseUrl: baseUrl(endpoint),
      interceptors: [authenticating(credential), remembering(seen)],
    });
});

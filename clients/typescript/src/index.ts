// TypeScript client for the cif.v1 control plane, for Node: the core (./core.ts: generated
// messages and services, CifError, resuming subscriptions) over Connect's gRPC transport
// (HTTP/2). In a browser, import ./web.ts instead: the same client over grpc-web.

import { createGrpcTransport } from "@connectrpc/connect-node";

import { authenticating, baseUrl, rolesOver } from "./core.js";

export * from "./core.js";

/** A channel provider's, an agent's desktop's and an operator's calls, over gRPC to an
 * endpoint (`http://host:port`, or `host:port`). */
export const { provider, agent, admin } = rolesOver(
  (endpoint) => (credential) =>
    createGrpcTransport({ baseUrl: baseUrl(endpoint), interceptors: [authenticating(credential)] }),
);

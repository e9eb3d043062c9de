// TypeScript client for the cif.v1 control plane, for Node: the core (./core.ts: generated
// messages and services, CifError, resuming subscriptions) over Connect's gRPC transport
// (HTTP/2). In a browser, import ./web.ts instead: the same client over grpc-web.

import { createGrpcTransport } from "@connectrpc/connect-node";

import { authenticating, baseUrl, failover, remembering, rolesOver, type Replicas, type Seen } from "./core.js";

export * from "./core.js";

/** The TLS material of a client of a cifd serving TLS, PEM: the CAs to trust besides
 * Node's own (`NODE_EXTRA_CA_CERTS` works too), and a client certificate with its key. */
export interface Tls {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
}

/** Transports over gRPC to an endpoint, or to several replicas comma-separated. */
function grpcOver(tls?: Tls) {
  return (endpoint: string) => {
    const endpoints = endpoint.split(",").map((one) => one.trim());
    const replicas: Replicas = { current: 0 };
    const seen: Seen = { stored: 0 };
    return (credential: string) => {
      const transports = endpoints.map((one) =>
        createGrpcTransport({
          baseUrl: baseUrl(one),
          interceptors: [authenticating(credential), remembering(seen)],
          ...(tls ? { nodeOptions: tls } : {}),
        }),
      );
      return transports.length === 1 ? transports[0] : failover(transports, replicas);
    };
  };
}

/** A channel provider's, an agent's desktop's and an operator's calls, over gRPC to an
 * endpoint (`http://host:port`, `host:port`, or `https://host:port` for a cifd serving TLS),
 * or to several replicas of one deployment given comma-separated
 * (`http://10.0.0.1:50051,http://10.0.0.2:50051`): calls go to one, and to the next when it
 * goes away (see `failover`). */
export const { provider, agent, admin } = rolesOver(grpcOver());

/** The same calls to a cifd serving TLS, trusting `tls.ca` and presenting `tls.cert`. */
export function overTls(tls: Tls) {
  return rolesOver(grpcOver(tls));
}

// TypeScript client for the cif.v1 control plane, for Node: the core (./core.ts: generated
// messages and services, CifError, resuming subscriptions) over Connect's gRPC transport
// (HTTP/2). In a browser, import ./web.ts instead: the same client over grpc-web.

import { createGrpcTransport } from "@connectrpc/connect-node";

import {
  adminOver,
  agentOver,
  authenticating,
  baseUrl,
  providerOver,
  type AdminClient,
  type AgentClient,
  type Connect,
  type ProviderClient,
} from "./core.js";

export * from "./core.js";

/** gRPC over HTTP/2 to `endpoint` (`http://host:port`, or `host:port`). */
function grpc(endpoint: string): Connect {
  return (credential) =>
    createGrpcTransport({ baseUrl: baseUrl(endpoint), interceptors: [authenticating(credential)] });
}

/** A channel provider's calls (cif.v1.ProviderService). */
export function provider(endpoint: string, credential: string): ProviderClient {
  return providerOver(grpc(endpoint), credential);
}

/** The agent's desktop calls (cif.v1.AgentService). */
export function agent(endpoint: string, credential: string): AgentClient {
  return agentOver(grpc(endpoint), credential);
}

/** The operator's calls (cif.v1.AdminService). */
export function admin(endpoint: string, token: string): AdminClient {
  return adminOver(grpc(endpoint), token);
}

// TypeScript client for the cif.v1 control plane, in a browser: the core (./core.ts) over
// Connect's grpc-web transport (fetch), which cifd serves on its gRPC port.

import { createGrpcWebTransport } from "@connectrpc/connect-web";

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

/** grpc-web to `endpoint` (a base URL; the page's own origin for cifd's pages). */
export function grpcWeb(endpoint: string): Connect {
  return (credential) =>
    createGrpcWebTransport({ baseUrl: baseUrl(endpoint), interceptors: [authenticating(credential)] });
}

/** A channel provider's calls (cif.v1.ProviderService). */
export function provider(endpoint: string, credential: string): ProviderClient {
  return providerOver(grpcWeb(endpoint), credential);
}

/** The agent's desktop calls (cif.v1.AgentService). */
export function agent(endpoint: string, credential: string): AgentClient {
  return agentOver(grpcWeb(endpoint), credential);
}

/** The operator's calls (cif.v1.AdminService). */
export function admin(endpoint: string, token: string): AdminClient {
  return adminOver(grpcWeb(endpoint), token);
}

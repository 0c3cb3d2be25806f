// voxgate's published gRPC service config (service/voxgate/service_config.json, copied into
// src/service_config.json by generate.sh): retries on UNAVAILABLE for the idempotent unary RPCs,
// wait-for-ready for every RPC.
import published from "./service_config.json";

/** The name of a method (or a whole service) a method config applies to. */
export interface MethodName {
  service?: string;
  method?: string;
}

/** One `methodConfig` entry of a gRPC service config (the fields voxgate uses, and any other). */
export interface MethodConfig {
  name?: MethodName[];
  waitForReady?: boolean;
  retryPolicy?: {
    maxAttempts: number;
    initialBackoff: string;
    maxBackoff: string;
    backoffMultiplier: number;
    retryableStatusCodes: (string | number)[];
  };
  [field: string]: unknown;
}

/** A gRPC service config, as JSON would give it. */
export interface ServiceConfig {
  methodConfig?: MethodConfig[];
  [field: string]: unknown;
}

/**
 * voxgate's published service config, with every method's `waitForReady` set to `waitForReady`
 * (a fresh copy each time). VoxgateClient uses it by default.
 */
export function serviceConfig(waitForReady = true): ServiceConfig {
  const config = JSON.parse(JSON.stringify(published)) as ServiceConfig;
  for (const m of config.methodConfig ?? []) m.waitForReady = waitForReady;
  return config;
}

/**
 * The method config `config` gives `/service/method`, by gRPC's rule: an entry naming the method,
 * else one naming its whole service, else a default entry (an empty name).
 */
export function methodConfigFor(config: ServiceConfig | undefined, service: string, method: string): MethodConfig | undefined {
  const entries = config?.methodConfig ?? [];
  const find = (match: (n: MethodName) => boolean) => entries.find((m) => (m.name ?? []).some(match));
  return (
    find((n) => n.service === service && n.method === method) ??
    find((n) => n.service === service && !n.method) ??
    find((n) => !n.service && !n.method)
  );
}

// The connection flags the examples share: the address, TLS (mutual TLS with a client
// certificate) and a bearer token, from flags or, as the Python CLI `voxgate` reads them, the
// environment: $VOXGATE_ADDR, $VOXGATE_TLS=1, $VOXGATE_TLS_CA, $VOXGATE_TLS_CERT,
// $VOXGATE_TLS_KEY and $VOXGATE_TOKEN. Flags win.
import { readFileSync } from "node:fs";

import type { TlsOptions, VoxgateClientOptions } from "../src";

/** parseArgs option definitions of the connection flags. */
export const connectionArgs = {
  addr: { type: "string" },
  tls: { type: "boolean" },
  "tls-ca": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "tls-server-name": { type: "string" },
  "token-file": { type: "string" },
} as const;

export const connectionUsage = `  --addr             server address (default: $VOXGATE_ADDR)
  --tls              TLS, trusting Node's root CAs (on by itself with the flags below; $VOXGATE_TLS=1)
  --tls-ca           CA certificate to trust (PEM; $VOXGATE_TLS_CA)
  --tls-cert         client certificate for mutual TLS (PEM; $VOXGATE_TLS_CERT)
  --tls-key          its private key (PEM; $VOXGATE_TLS_KEY)
  --tls-server-name  name the server's certificate must carry (default: the address's host)
  --token-file       file holding a bearer token (default: $VOXGATE_TOKEN; send tokens over TLS only)`;

export interface ConnectionValues {
  addr?: string;
  tls?: boolean;
  "tls-ca"?: string;
  "tls-cert"?: string;
  "tls-key"?: string;
  "tls-server-name"?: string;
  "token-file"?: string;
}

/** The address (undefined when none is given) and the client options of the flags. */
export function connection(
  values: ConnectionValues,
  env: NodeJS.ProcessEnv = process.env,
): { address?: string; options: Pick<VoxgateClientOptions, "tls" | "token"> } {
  const pick = (flag: string | undefined, name: string) => flag ?? (env[name] || undefined);
  const tls: TlsOptions = {
    ca: pick(values["tls-ca"], "VOXGATE_TLS_CA"),
    cert: pick(values["tls-cert"], "VOXGATE_TLS_CERT"),
    key: pick(values["tls-key"], "VOXGATE_TLS_KEY"),
    serverName: values["tls-server-name"],
  };
  const useTls = values.tls || env.VOXGATE_TLS === "1" || Object.values(tls).some((v) => v !== undefined);
  let token = env.VOXGATE_TOKEN?.trim() || undefined;
  const file = values["token-file"];
  if (file !== undefined) {
    token = readFileSync(file, "utf8").trim().split("\n")[0].trim();
    if (!token) throw new Error(`--token-file ${file}: no token in it`);
  }
  return {
    address: values.addr ?? (env.VOXGATE_ADDR || undefined),
    options: { tls: useTls ? tls : undefined, token },
  };
}

// TLS, mutual TLS and bearer tokens, against a second live voxgate that clients/typescript/test.sh
// starts with them on (clients/tls-test-server.sh: --tls-cert, --tls-client-ca,
// --auth-tokens-file): its host:port in VOXGATE_TEST_TLS_ADDR, its certificates
// (scripts/make_test_certs.py) and tokens ("token": tenant acme, every service; "kiosk.token":
// SynthesisService only) in VOXGATE_TEST_TLS_DIR. Without those the live tests are skipped.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";

import {
  bearerTokenInterceptor,
  collectStreamTokens,
  tlsCredentials,
  VoxgateClient,
  VoxgateError,
  type TlsOptions,
  type VoxgateClientOptions,
} from "../src";
import { connection } from "../examples/connection";
import { repoRoot } from "./server";

const addr = process.env.VOXGATE_TEST_TLS_ADDR?.trim() ?? "";
const dir = process.env.VOXGATE_TEST_TLS_DIR?.trim() ?? "";
const skip = !addr || !dir ? "VOXGATE_TEST_TLS_ADDR / VOXGATE_TEST_TLS_DIR are not set (clients/typescript/test.sh sets them)" : false;
const file = (name: string) => path.join(dir, name);
const token = (name: string) => readFileSync(file(name), "utf8").trim();
const mtls = (): TlsOptions => ({ ca: file("ca.pem"), cert: file("client.pem"), key: file("client.key") });
const MISSING = "missing credentials: send the metadata 'authorization: Bearer <token>'";

/** One GetServerInfo failing fast (no wait-for-ready): its VoxgateError, or undefined. */
async function serverInfoError(address: string, options: VoxgateClientOptions): Promise<VoxgateError | undefined> {
  const client = new VoxgateClient(address, { timeoutMs: 30_000, waitForReady: false, ...options });
  try {
    await client.getServerInfo();
    return undefined;
  } catch (err) {
    assert.ok(err instanceof VoxgateError, `not a VoxgateError: ${String(err)}`);
    return err;
  } finally {
    client.close();
  }
}

describe("TLS, mutual TLS and tokens", { skip }, () => {
  it("mutual TLS with a token: a unary call (the unary channel) and a stream (the streaming channel)", async () => {
    const manifest = JSON.parse(readFileSync(path.join(repoRoot(), "conformance", "manifest.json"), "utf8")) as {
      tokenize: { file: string; interleaved: number[] }[];
    };
    const vector = manifest.tokenize[0];
    const audio = path.join(repoRoot(), "conformance", vector.file);
    // The default service config (wait-for-ready, retries) over mutual-TLS channels.
    const client = new VoxgateClient(addr, { tls: mtls(), token: token("token"), timeoutMs: 60_000 });
    try {
      assert.equal((await client.getServerInfo()).tokenSpec?.vocabularySize, 5120);
      assert.deepEqual((await client.tokenizeFile(audio)).tokens?.interleaved, vector.interleaved);
      const streamed = await collectStreamTokens(client.streamTokenizeFile(audio, { chunkBytes: 4096 }));
      assert.deepEqual(streamed.tokens.interleaved, vector.interleaved);
      // The public stubs share the streaming channel, and send the token too.
      const info = await new Promise<unknown>((resolve, reject) =>
        client.discovery.getServerInfo({}, (err, res) => (err ? reject(err) : resolve(res))),
      );
      assert.ok(info);
    } finally {
      client.close();
    }
  });

  it("the server name can be overridden", async () => {
    const port = addr.slice(addr.lastIndexOf(":") + 1);
    // Dialled by IP address, checked against the name on the certificate.
    const ok = await serverInfoError(`127.0.0.1:${port}`, { tls: { ...mtls(), serverName: "localhost" }, token: token("token") });
    assert.equal(ok, undefined);
    const wrong = await serverInfoError(addr, { tls: { ...mtls(), serverName: "not-the-server.example" }, token: token("token") });
    assert.equal(wrong?.codeName, "UNAVAILABLE");
  });

  const refusals: [string, () => VoxgateClientOptions, string, string?][] = [
    ["no client certificate", () => ({ tls: { ca: file("ca.pem") }, token: token("token") }), "UNAVAILABLE"],
    [
      "a client certificate of another CA",
      () => ({ tls: { ca: file("ca.pem"), cert: file("untrusted-client.pem"), key: file("untrusted-client.key") }, token: token("token") }),
      "UNAVAILABLE",
    ],
    [
      "a server certificate from an untrusted CA",
      () => ({ tls: { ...mtls(), ca: file("other-ca.pem") }, token: token("token") }),
      "UNAVAILABLE",
    ],
    ["plaintext to the TLS port", () => ({ token: token("token") }), "UNAVAILABLE"],
    ["no token", () => ({ tls: mtls() }), "UNAUTHENTICATED", MISSING],
    ["an unknown token", () => ({ tls: mtls(), token: "not-a-token" }), "UNAUTHENTICATED", "invalid token"],
    [
      "a tenant limited to SynthesisService",
      () => ({ tls: mtls(), token: token("kiosk.token") }),
      "PERMISSION_DENIED",
      "tenant 'kiosk' may not call voxgate.v1.DiscoveryService",
    ],
  ];
  for (const [name, options, codeName, message] of refusals) {
    it(`refused: ${name} -> ${codeName}`, async () => {
      const err = await serverInfoError(addr, options());
      assert.ok(err, "the call succeeded");
      assert.equal(err.codeName, codeName, err.message);
      if (message !== undefined) assert.equal(err.details, message);
    });
  }

  it("with wait-for-ready (the default) a refused handshake is retried until the deadline", async () => {
    const client = new VoxgateClient(addr, { tls: { ca: file("ca.pem") }, token: token("token"), timeoutMs: 2000 });
    try {
      await assert.rejects(client.getServerInfo(), (err: VoxgateError) => err.codeName === "DEADLINE_EXCEEDED");
    } finally {
      client.close();
    }
  });

  it("the kiosk tenant may call the service it is limited to", async () => {
    const client = new VoxgateClient(addr, { tls: mtls(), token: token("kiosk.token"), waitForReady: false });
    try {
      assert.ok((await client.listVoices()).length > 0);
    } finally {
      client.close();
    }
  });

  it("the example reads the TLS files and the token from the environment, or flags", async () => {
    const script = path.join(__dirname, "..", "examples", "tokenize.js");
    const base: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("VOXGATE_TLS") && k !== "VOXGATE_TOKEN") base[k] = v;
    const tlsEnv = { VOXGATE_TLS_CA: file("ca.pem"), VOXGATE_TLS_CERT: file("client.pem"), VOXGATE_TLS_KEY: file("client.key") };
    const run = (env: NodeJS.ProcessEnv, ...args: string[]) =>
      promisify(execFile)(process.execPath, [script, "--addr", addr, ...args], { env: { ...base, ...env } }).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    let r = await run({ ...tlsEnv, VOXGATE_TOKEN: token("token") }, "--info");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"vocabularySize": 5120/);
    r = await run(tlsEnv, "--info");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: UNAUTHENTICATED: missing credentials/);
    const flags = ["--tls-ca", file("ca.pem"), "--tls-cert", file("client.pem"), "--tls-key", file("client.key")];
    r = await run({}, ...flags, "--token-file", file("kiosk.token"), "--info");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: PERMISSION_DENIED: tenant 'kiosk'/);
  });
});

describe("TLS and token settings (offline)", () => {
  it("refuses a certificate without its key, unreadable files, credentials with tls, bad tokens", () => {
    const tmp = mkdtempSync(path.join(tmpdir(), "voxgate-tls-"));
    const pem = path.join(tmp, "c.pem");
    writeFileSync(pem, "not a certificate\n");
    assert.throws(() => tlsCredentials({ cert: pem }), /needs its key/);
    assert.throws(() => tlsCredentials({ ca: path.join(tmp, "missing.pem") }), /ENOENT/);
    assert.throws(() => new VoxgateClient("127.0.0.1:1", { tls: true, credentials: tlsCredentials() }), /either/);
    assert.throws(() => bearerTokenInterceptor("two words"), /printable ASCII/);
    new VoxgateClient("127.0.0.1:1", { tls: true, token: "t" }).close(); // the system's roots
  });

  it("the examples' connection flags: environment, flags winning, plaintext by default", () => {
    assert.deepEqual(connection({}, {}), { address: undefined, options: { tls: undefined, token: undefined } });
    const env = {
      VOXGATE_ADDR: "voxgate:443",
      VOXGATE_TLS_CA: "ca.pem",
      VOXGATE_TLS_CERT: "c.pem",
      VOXGATE_TLS_KEY: "c.key",
      VOXGATE_TOKEN: "from-env\n",
    };
    assert.deepEqual(connection({}, env), {
      address: "voxgate:443",
      options: { tls: { ca: "ca.pem", cert: "c.pem", key: "c.key", serverName: undefined }, token: "from-env" },
    });
    const tmp = mkdtempSync(path.join(tmpdir(), "voxgate-token-"));
    writeFileSync(path.join(tmp, "token"), "from-file\n");
    const c = connection({ addr: "other:1", "tls-ca": "mine.pem", "token-file": path.join(tmp, "token") }, env);
    assert.equal(c.address, "other:1");
    assert.equal((c.options.tls as TlsOptions).ca, "mine.pem");
    assert.equal(c.options.token, "from-file");
    assert.deepEqual(connection({}, { VOXGATE_TLS: "1" }).options.tls, {
      ca: undefined,
      cert: undefined,
      key: undefined,
      serverName: undefined,
    });
    assert.deepEqual(connection({ tls: true }, {}).options.tls, { ca: undefined, cert: undefined, key: undefined, serverName: undefined });
  });
});

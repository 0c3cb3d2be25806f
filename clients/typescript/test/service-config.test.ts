// The published service config (the client's default) at work: wait-for-ready against a port
// where the server starts listening late (a TCP relay to the live voxgate), and the retry policy
// against an in-process server that answers UNAVAILABLE.
import assert from "node:assert/strict";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";

import * as grpc from "@grpc/grpc-js";

import { collectSynthesis, VoxgateClient, VoxgateError } from "../src";
import { DiscoveryServiceClient, DiscoveryServiceService } from "../src/gen/voxgate/v1/discovery";
import { SynthesisServiceService } from "../src/gen/voxgate/v1/synthesis";
import { TokenizerServiceService } from "../src/gen/voxgate/v1/tokenizer";
import { liveServerAddress } from "./server";

/** A loopback port nothing listens on (the kernel just handed it out). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Listens on 127.0.0.1:port and copies bytes both ways to target (host:port); returns a closer. */
async function relay(port: number, target: string): Promise<() => Promise<void>> {
  const colon = target.lastIndexOf(":");
  const host = target.slice(0, colon);
  const targetPort = Number(target.slice(colon + 1));
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(targetPort, host);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  return () =>
    new Promise<void>((resolve) => {
      sockets.forEach((s) => s.destroy());
      server.close(() => resolve());
    });
}

function isCode(code: string) {
  return (e: unknown) => {
    assert.ok(e instanceof VoxgateError, `expected a VoxgateError, got ${String(e)}`);
    assert.equal(e.codeName, code, `${e.codeName}: ${e.details}`);
    return true;
  };
}

describe("wait-for-ready", () => {
  it("a call made before the server listens succeeds once it does", async () => {
    const live = liveServerAddress();
    const port = await freePort();
    const client = new VoxgateClient(`127.0.0.1:${port}`, { timeoutMs: 60_000, streamTimeoutMs: 120_000 });
    let closeRelay: (() => Promise<void>) | undefined;
    try {
      let infoDone = false;
      let speechDone = false;
      const info = client.getServerInfo().finally(() => (infoDone = true));
      const speech = collectSynthesis(client.synthesize("Hello there.")).finally(() => (speechDone = true));
      info.catch(() => undefined);
      speech.catch(() => undefined);
      await new Promise((r) => setTimeout(r, 2_000)); // the channels have tried, and failed, to connect
      assert.ok(!infoDone, "GetServerInfo ended before anything listened");
      assert.ok(!speechDone, "Synthesize ended before anything listened");

      closeRelay = await relay(port, live);
      assert.equal((await info).tokenSpec?.vocabularySize, 5120);
      const s = await speech;
      assert.ok(s.final, "Synthesize did not end with a final piece");
      assert.ok(s.groupCount > 0, "no audio tokens");
    } finally {
      client.close();
      await closeRelay?.();
    }
  });
});

describe("retry policy", () => {
  let server: grpc.Server;
  let address: string;
  let live: DiscoveryServiceClient;
  const attempts = new Map<string, number>();
  const previous = new Map<string, string>();

  function count(method: string, md: grpc.Metadata): number {
    const n = (attempts.get(method) ?? 0) + 1;
    attempts.set(method, n);
    previous.set(method, String(md.get("grpc-previous-rpc-attempts")[0] ?? ""));
    return n;
  }
  const down = { code: grpc.status.UNAVAILABLE, details: "try again" };

  before(async () => {
    live = new DiscoveryServiceClient(liveServerAddress(), grpc.credentials.createInsecure());
    server = new grpc.Server({ "grpc.max_receive_message_length": -1 });
    // GetServerInfo: UNAVAILABLE twice, then the live server's answer. Tokenize, Synthesize and
    // StreamTokenize: always UNAVAILABLE.
    server.addService(DiscoveryServiceService, {
      getServerInfo: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        if (count("GetServerInfo", call.metadata) <= 2) return cb(down);
        live.getServerInfo({}, new grpc.Metadata(), { deadline: Date.now() + 30_000 }, (err, res) => cb(err, res));
      },
    });
    server.addService(TokenizerServiceService, {
      tokenize: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        count("Tokenize", call.metadata);
        cb(down);
      },
      streamTokenize: (call: grpc.ServerDuplexStream<unknown, unknown>) => {
        count("StreamTokenize", call.metadata);
        call.emit("error", down);
      },
    });
    server.addService(SynthesisServiceService, {
      synthesize: (call: grpc.ServerWritableStream<unknown, unknown>) => {
        count("Synthesize", call.metadata);
        call.emit("error", down);
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    address = `127.0.0.1:${port}`;
  });

  after(() => {
    live?.close();
    server?.forceShutdown();
  });

  it("retries the idempotent unary calls on UNAVAILABLE, up to 4 attempts", async () => {
    const client = new VoxgateClient(address, { timeoutMs: 30_000, streamTimeoutMs: 30_000 });
    try {
      attempts.clear();
      // Two UNAVAILABLE answers, then the live server's: the call succeeds on its third attempt.
      assert.equal((await client.getServerInfo()).tokenSpec?.vocabularySize, 5120);
      assert.equal(attempts.get("GetServerInfo"), 3);
      assert.equal(previous.get("GetServerInfo"), "2");

      // Always UNAVAILABLE: maxAttempts (4) attempts, then the last status. 500 KiB fits
      // grpc-js's per-call retry buffer (1 MiB), which the unary calls' channel keeps.
      await assert.rejects(client.tokenize(Buffer.alloc(500 << 10)), isCode("UNAVAILABLE"));
      assert.equal(attempts.get("Tokenize"), 4);
      assert.equal(previous.get("Tokenize"), "3");
    } finally {
      client.close();
    }
  });

  it("does not retry the streaming calls, nor calls on the stubs' channel or without the config", async () => {
    const client = new VoxgateClient(address, { timeoutMs: 30_000, streamTimeoutMs: 30_000 });
    const bare = new VoxgateClient(address, { timeoutMs: 30_000, serviceConfig: null });
    try {
      attempts.clear();
      await assert.rejects(collectSynthesis(client.synthesize("Hello.")), isCode("UNAVAILABLE"));
      assert.equal(attempts.get("Synthesize"), 1, "Synthesize has no retry policy");
      await assert.rejects(
        (async () => {
          for await (const _ of client.streamTokenize([Buffer.from("RIFF")])) void _;
        })(),
        isCode("UNAVAILABLE"),
      );
      assert.equal(attempts.get("StreamTokenize"), 1, "StreamTokenize has no retry policy");

      // The public stubs share the streaming calls' channel, which has no retry buffer: grpc-js
      // commits a call at its first message there, so it is never retried.
      await new Promise<void>((resolve) =>
        client.tokenizer.tokenize(
          { audio: { source: { $case: "container", container: Buffer.from("RIFF") } }, includeText: false },
          new grpc.Metadata(),
          { deadline: Date.now() + 30_000 },
          (err) => {
            assert.equal(err?.code, grpc.status.UNAVAILABLE);
            resolve();
          },
        ),
      );
      assert.equal(attempts.get("Tokenize"), 1, "a call through client.tokenizer");

      // Without the service config there are no retries: the policy above is the config's.
      attempts.clear();
      await assert.rejects(bare.tokenize(Buffer.from("RIFF")), isCode("UNAVAILABLE"));
      assert.equal(attempts.get("Tokenize"), 1, "Tokenize without a service config");
    } finally {
      client.close();
      bare.close();
    }
  });
});

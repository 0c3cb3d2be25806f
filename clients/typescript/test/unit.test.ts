// Offline checks of the client library (no server needed).
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";

import { Metadata, status } from "@grpc/grpc-js";
import {
  AudioContainer,
  collectSynthesis,
  methodConfigFor,
  readChunks,
  readWavInfo,
  serviceConfig,
  statusCodeName,
  toVoxgateError,
  VoxgateClient,
  VoxgateError,
  type SynthesizeResponse,
} from "../src";
import { repoRoot } from "./server";

function wav16(samples: number, rate: number, channels = 1): Buffer {
  const data = Buffer.alloc(samples * channels * 2);
  const h = Buffer.alloc(44);
  h.write("RIFF", 0, "ascii");
  h.writeUInt32LE(36 + data.length, 4);
  h.write("WAVEfmt ", 8, "ascii");
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * channels * 2, 28);
  h.writeUInt16LE(channels * 2, 32);
  h.writeUInt16LE(16, 34);
  h.write("data", 36, "ascii");
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

describe("errors", () => {
  it("names canonical status codes", () => {
    assert.equal(statusCodeName(status.INVALID_ARGUMENT), "INVALID_ARGUMENT");
    assert.equal(statusCodeName(status.DEADLINE_EXCEEDED), "DEADLINE_EXCEEDED");
    assert.equal(statusCodeName(12345), "UNKNOWN");
  });

  it("maps a grpc ServiceError to VoxgateError", () => {
    const md = new Metadata();
    md.set("x-request-id", "abc");
    const se = Object.assign(new Error("3 INVALID_ARGUMENT: bad"), { code: status.INVALID_ARGUMENT, details: "bad", metadata: md });
    const e = toVoxgateError("Tokenize", se);
    assert.ok(e instanceof VoxgateError);
    assert.equal(e.code, status.INVALID_ARGUMENT);
    assert.equal(e.codeName, "INVALID_ARGUMENT");
    assert.equal(e.details, "bad");
    assert.equal(e.rpc, "Tokenize");
    assert.equal(e.requestId, "abc");
    const other = new Error("plain");
    assert.equal(toVoxgateError("Tokenize", other), other);
  });
});

describe("files", () => {
  it("reads a file in exact pieces", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "voxgate-ts-unit-"));
    try {
      const f = path.join(dir, "x.bin");
      const data = Buffer.from(Array.from({ length: 200_003 }, (_, i) => i % 251));
      await writeFile(f, data);
      for (const n of [1, 777, 4096, 65536, 300_000]) {
        const pieces: Buffer[] = [];
        for await (const p of readChunks(f, n)) pieces.push(p);
        assert.ok(pieces.slice(0, -1).every((p) => p.length === n), `piece size ${n}`);
        assert.ok(pieces[pieces.length - 1].length <= n);
        assert.deepEqual(Buffer.concat(pieces), data);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("reads a WAV header", () => {
    const w = readWavInfo(wav16(22050, 22050, 2));
    assert.equal(w.sampleRateHz, 22050);
    assert.equal(w.channels, 2);
    assert.equal(w.bitsPerSample, 16);
    assert.equal(w.numSamples, 22050);
    assert.equal(w.durationSeconds, 1);
    assert.throws(() => readWavInfo(Buffer.from("not a wav file")));
  });
});

describe("synthesis", () => {
  const piece = (over: Partial<SynthesizeResponse>): SynthesizeResponse => ({
    requestId: "r1",
    audioTokens: [],
    final: false,
    words: [],
    startSeconds: 0,
    ...over,
  });

  it("combines RAW pieces", async () => {
    const format = { container: AudioContainer.AUDIO_CONTAINER_RAW, encoding: 1, sampleRateHz: 16000 };
    const res = await collectSynthesis([
      piece({
        audioTokens: [1, 2, 1030, 1031, 1032],
        audio: { data: Buffer.from("ab"), format, durationSeconds: 0.12 },
        report: { engine: "reference", voice: "joe", notApplied: [], normalizedText: "hi" },
        words: [{ word: "hi", startMs: 0, endMs: 100 }],
      }),
      piece({ final: true, startSeconds: 0.12, audio: { data: Buffer.from("cd"), format, durationSeconds: 0 } }),
    ]);
    assert.deepEqual(res.tokens, [1, 2, 1030, 1031, 1032]);
    assert.equal(res.groupCount, 1);
    assert.equal(res.audio.toString(), "abcd");
    assert.equal(res.report?.voice, "joe");
    assert.equal(res.words.length, 1);
    assert.equal(res.durationSeconds, 0.12);
    assert.equal(res.messages, 2);
    assert.equal(res.final, true);
    assert.equal(res.requestId, "r1");
  });

  it("takes a container's file from the final message", async () => {
    const format = { container: AudioContainer.AUDIO_CONTAINER_WAV, encoding: 1, sampleRateHz: 16000 };
    const res = await collectSynthesis([
      piece({ audioTokens: [1, 2, 1030, 1031, 1032], audio: { data: Buffer.alloc(0), format, durationSeconds: 0.12 } }),
      piece({ final: true, audio: { data: Buffer.from("RIFF"), format, durationSeconds: 0.12 } }),
    ]);
    assert.equal(res.audio.toString(), "RIFF");
    assert.equal(res.format?.container, AudioContainer.AUDIO_CONTAINER_WAV);
  });
});

describe("client", () => {
  it("wants host:port", () => {
    assert.throws(() => new VoxgateClient("localhost"), TypeError);
  });

  it("surfaces an unreachable server as UNAVAILABLE without wait-for-ready", async () => {
    // Port 1 on loopback: nothing listens there, the connection is refused.
    const c = new VoxgateClient("127.0.0.1:1", { timeoutMs: 20_000, streamTimeoutMs: 20_000, waitForReady: false });
    try {
      const start = Date.now();
      await assert.rejects(c.getServerInfo(), (e: unknown) => e instanceof VoxgateError && e.codeName === "UNAVAILABLE");
      await assert.rejects(
        (async () => {
          for await (const _ of c.streamTokenize([Buffer.from("RIFF")])) void _;
        })(),
        (e: unknown) => e instanceof VoxgateError && e.codeName === "UNAVAILABLE",
      );
      assert.ok(Date.now() - start < 10_000, `UNAVAILABLE took ${Date.now() - start} ms, as if waiting for the server`);
    } finally {
      c.close();
    }
  });

  it("waits for an unreachable server until the deadline (wait-for-ready, the default)", async () => {
    const c = new VoxgateClient("127.0.0.1:1", { timeoutMs: 1_500, streamTimeoutMs: 1_500 });
    try {
      for (const call of [
        () => c.getServerInfo(),
        async () => {
          for await (const _ of c.streamTokenize([Buffer.from("RIFF")])) void _;
        },
      ]) {
        const start = Date.now();
        await assert.rejects(call(), (e: unknown) => e instanceof VoxgateError && e.codeName === "DEADLINE_EXCEEDED");
        assert.ok(Date.now() - start >= 1_000, `the call ended after ${Date.now() - start} ms, before its deadline`);
      }
    } finally {
      c.close();
    }
  });
});

describe("service config", () => {
  it("is the published one (service/voxgate/service_config.json)", async () => {
    const published = await readFile(path.join(repoRoot(), "service", "voxgate", "service_config.json"), "utf8");
    const copy = await readFile(path.join(__dirname, "..", "..", "src", "service_config.json"), "utf8");
    assert.equal(copy, published, "src/service_config.json is stale: run clients/typescript/generate.sh");
    assert.deepEqual(serviceConfig(), JSON.parse(published));
    for (const wait of [true, false]) {
      const config = serviceConfig(wait);
      assert.equal(config.methodConfig?.length, 2);
      for (const m of config.methodConfig ?? []) assert.equal(m.waitForReady, wait);
      assert.equal(config.methodConfig?.[0].retryPolicy?.maxAttempts, 4);
    }
  });

  it("finds a method's config by method, then service, then default", () => {
    const config = serviceConfig();
    assert.ok(methodConfigFor(config, "voxgate.v1.TokenizerService", "Tokenize")?.retryPolicy);
    assert.ok(methodConfigFor(config, "voxgate.v1.DiscoveryService", "GetServerInfo")?.retryPolicy);
    assert.equal(methodConfigFor(config, "voxgate.v1.TokenizerService", "StreamTokenize")?.retryPolicy, undefined);
    assert.equal(methodConfigFor(config, "voxgate.v1.ChatService", "Chat")?.waitForReady, true);
    assert.equal(methodConfigFor(config, "other.Service", "Call"), undefined);
    const withDefault = { methodConfig: [...(config.methodConfig ?? []), { name: [{}], waitForReady: false }] };
    assert.equal(methodConfigFor(withDefault, "other.Service", "Call")?.waitForReady, false);
    assert.equal(methodConfigFor(undefined, "voxgate.v1.ChatService", "Chat"), undefined);
  });
});

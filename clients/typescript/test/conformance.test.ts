// Conformance tests against a live voxgate (started here, or VOXGATE_ADDR): every case of
// conformance/manifest.json (see conformance/README.md), plus server info and deadlines.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";

import {
  AudioContainer,
  collectStreamTokens,
  collectSynthesis,
  PcmEncoding,
  readWavInfo,
  VoxgateClient,
  VoxgateError,
  type RawAudioFormat,
  type StreamTokenizeResponse,
  type SynthesisResult,
  type SynthesizeOptions,
  type SynthesizeResponse,
} from "../src";
import { liveServerAddress, repoRoot } from "./server";

interface TokenizeCase {
  name: string;
  file: string;
  group_count: number;
  linguistic: number[];
  semantic: number[];
  interleaved: number[];
  text: string;
}
interface DetokenizeCase {
  name: string;
  interleaved: number[];
  group_count: number;
  num_samples: number;
  sample_rate_hz: number;
  wav_sha256: string;
}
interface SynthesizeCase {
  name: string;
  text: string;
  voice?: string;
  style_instruction?: string;
  stream_pieces?: string[];
  interleaved: number[];
  group_count: number;
  sample_rate_hz: number;
  num_samples?: number;
  normalized_text?: string;
}
interface ErrorCase {
  name: string;
  rpc: string;
  code: string;
  container_file?: string;
  raw?: { encoding: string | number; sample_rate_hz: number; channels: number };
  raw_file?: string;
  interleaved?: number[];
  text?: string;
  linguistic?: number[];
  semantic?: number[];
  voice?: string;
  style_instruction?: string;
}
interface Manifest {
  version: number;
  stream_chunk_bytes: number[];
  tokenize: TokenizeCase[];
  detokenize: DetokenizeCase[];
  synthesize: SynthesizeCase[];
  errors: ErrorCase[];
}

const confDir = path.join(repoRoot(), "conformance");
const manifestPath = path.join(confDir, "manifest.json");
const manifest: Manifest | undefined = existsSync(manifestPath)
  ? (JSON.parse(readFileSync(manifestPath, "utf8")) as Manifest)
  : undefined;
const conf = (rel: string) => path.join(confDir, rel);

function pcmEncoding(e: string | number): PcmEncoding {
  if (typeof e === "number") return e as PcmEncoding;
  const v = (PcmEncoding as unknown as Record<string, number>)[e];
  if (typeof v !== "number") throw new Error(`unknown encoding name in manifest: ${e}`);
  return v;
}

function synthesisOptions(c: SynthesizeCase): SynthesizeOptions {
  return {
    voice: c.voice,
    styleInstruction: c.style_instruction,
    outputFormat: { container: AudioContainer.AUDIO_CONTAINER_WAV },
  };
}

/** Tokens, group count, final last (and only there), the report and the WAV of the final message. */
function checkSynthesis(c: SynthesizeCase, msgs: SynthesizeResponse[], res: SynthesisResult, stream = false): void {
  assert.ok(msgs.length > 0, "no messages");
  assert.deepEqual(res.tokens, c.interleaved, "tokens");
  assert.equal(res.groupCount, c.group_count, "group_count");
  assert.equal(msgs[msgs.length - 1].final, true, "last message not final");
  assert.equal(res.final, true);
  assert.ok(msgs.slice(0, -1).every((m) => !m.final), "final set before the last message");
  assert.ok(msgs.every((m) => m.audioTokens.length % 5 === 0), "a message with partial groups");
  assert.ok(msgs.every((m) => m.requestId === msgs[0].requestId), "request_id changed mid-stream");
  assert.ok(res.requestId.length > 0, "request_id empty");
  assert.ok(msgs[0].report, "no report in the first message");
  assert.ok(msgs.slice(1).every((m) => !m.report), "a report after the first message");
  if (c.voice) assert.equal(res.report?.voice, c.voice, "report voice");
  // StreamSynthesize's report covers only the text spoken when it was sent.
  if (c.normalized_text !== undefined && !stream)
    assert.equal(res.report?.normalizedText, c.normalized_text, "normalized text");
  const wav = readWavInfo(res.audio);
  assert.equal(wav.sampleRateHz, c.sample_rate_hz, "WAV rate");
  assert.equal(res.format?.sampleRateHz, c.sample_rate_hz, "format rate");
  assert.equal(res.format?.container, AudioContainer.AUDIO_CONTAINER_WAV, "container");
  assert.equal(wav.bitsPerSample, 16);
  if (c.num_samples !== undefined) assert.equal(wav.numSamples, c.num_samples, "num_samples");
  assert.ok(res.durationSeconds > 0, "duration");
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof VoxgateError, `expected a VoxgateError, got ${String(err)}`);
    assert.equal(err.codeName, code, `status ${err.codeName} (${err.details}), want ${code}`);
    return true;
  });
}

describe("voxgate TypeScript client against a live server", () => {
  let client: VoxgateClient;

  before(async () => {
    client = new VoxgateClient(liveServerAddress(), { timeoutMs: 60_000, streamTimeoutMs: 120_000 });
    await client.waitForReady(30_000);
  });

  after(() => {
    client?.close();
  });

  it("GetServerInfo reports the Step-Audio token format", async () => {
    const info = await client.getServerInfo({ timeoutMs: 10_000 });
    const spec = info.tokenSpec;
    assert.ok(spec, "token_spec missing");
    assert.equal(spec.vocabularySize, 5120);
    assert.equal(spec.groupMs, 120);
    assert.equal(spec.groupPattern, "llsss");
    assert.deepEqual(spec.streams.map((s) => s.name).sort(), ["linguistic", "semantic"]);
    assert.ok(info.implementedServices.includes("voxgate.v1.TokenizerService"), String(info.implementedServices));
  });

  it("conformance manifest is present", () => {
    assert.ok(manifest, `missing ${manifestPath}`);
    assert.ok(manifest.tokenize.length > 0 && manifest.detokenize.length > 0 && manifest.errors.length > 0);
    assert.ok(manifest.synthesize?.length > 0, "no synthesize cases");
    assert.ok(manifest.synthesize.some((c) => (c.stream_pieces?.length ?? 0) > 0), "no StreamSynthesize case");
    assert.ok(manifest.stream_chunk_bytes.length > 0);
  });

  describe("Tokenize", () => {
    for (const c of manifest?.tokenize ?? []) {
      it(c.name, async () => {
        const res = await client.tokenizeFile(conf(c.file), { includeText: true });
        const t = res.tokens;
        assert.ok(t, "tokens missing");
        assert.equal(t.groupCount, c.group_count);
        assert.deepEqual(t.linguistic, c.linguistic);
        assert.deepEqual(t.semantic, c.semantic);
        assert.deepEqual(t.interleaved, c.interleaved);
        assert.equal(t.text, c.text);
        assert.ok(res.requestId.length > 0, "request_id empty");
      });
    }
  });

  describe("StreamTokenize (WAV in pieces)", () => {
    for (const c of manifest?.tokenize ?? []) {
      for (const chunk of manifest?.stream_chunk_bytes ?? []) {
        it(`${c.name} in ${chunk}-byte pieces`, async () => {
          const got: StreamTokenizeResponse[] = [];
          for await (const r of client.streamTokenizeFile(conf(c.file), {
            chunkBytes: chunk,
            includeText: true,
            format: { container: AudioContainer.AUDIO_CONTAINER_WAV },
          })) {
            got.push(r);
          }
          assert.ok(got.length > 0, "no responses");
          assert.equal(got[got.length - 1].final, true, "last message not final");
          assert.ok(got.slice(0, -1).every((r) => !r.final), "final set before the last message");
          let groups = 0;
          for (const r of got) {
            if (r.tokens && r.tokens.groupCount > 0) assert.equal(r.groupOffset, groups, "group_offset");
            groups += r.tokens?.groupCount ?? 0;
          }
          const all = await collectStreamTokens(
            (async function* () {
              yield* got;
            })(),
          );
          assert.equal(all.tokens.groupCount, c.group_count);
          assert.deepEqual(all.tokens.linguistic, c.linguistic);
          assert.deepEqual(all.tokens.semantic, c.semantic);
          assert.deepEqual(all.tokens.interleaved, c.interleaved);
          assert.equal(all.tokens.text, c.text);
          assert.ok(got.every((r) => r.requestId === got[0].requestId), "request_id changed mid-stream");
        });
      }
    }
  });

  describe("Detokenize", () => {
    for (const c of manifest?.detokenize ?? []) {
      it(c.name, async () => {
        const dir = await mkdtemp(path.join(tmpdir(), "voxgate-ts-detok-"));
        try {
          const out = path.join(dir, "out.wav");
          const res = await client.detokenizeToFile(c.interleaved, out);
          const wav = await readFile(out);
          assert.equal(createHash("sha256").update(wav).digest("hex"), c.wav_sha256, "wav sha256");
          const info = readWavInfo(wav);
          assert.equal(info.numSamples, c.num_samples);
          assert.equal(info.sampleRateHz, c.sample_rate_hz);
          assert.equal(info.bitsPerSample, 16);
          assert.equal(res.groupCount, c.group_count);
          assert.equal(res.audio?.format?.container, AudioContainer.AUDIO_CONTAINER_WAV);
          assert.equal(res.audio?.format?.encoding, PcmEncoding.PCM_ENCODING_S16LE);
          assert.equal(res.audio?.format?.sampleRateHz, c.sample_rate_hz);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      });
    }
  });

  describe("Synthesize", () => {
    for (const c of manifest?.synthesize ?? []) {
      it(c.name, async () => {
        const msgs: SynthesizeResponse[] = [];
        for await (const m of client.synthesize(c.text, synthesisOptions(c))) msgs.push(m);
        checkSynthesis(c, msgs, await collectSynthesis(msgs));
      });
    }

    it("synthesizeToFile writes the WAV", async () => {
      const c = manifest?.synthesize[0];
      assert.ok(c, "needs a synthesize case");
      const dir = await mkdtemp(path.join(tmpdir(), "voxgate-ts-synth-"));
      try {
        const out = path.join(dir, "out.wav");
        const res = await client.synthesizeToFile(c.text, out, { voice: c.voice, styleInstruction: c.style_instruction });
        assert.deepEqual(await readFile(out), res.audio);
        assert.deepEqual(res.tokens, c.interleaved);
        assert.equal(readWavInfo(res.audio).sampleRateHz, c.sample_rate_hz);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it("RAW pieces add up to the samples", async () => {
      const c = manifest?.synthesize[0];
      assert.ok(c, "needs a synthesize case");
      const res = await collectSynthesis(
        client.synthesize(c.text, {
          ...synthesisOptions(c),
          outputFormat: { container: AudioContainer.AUDIO_CONTAINER_RAW, encoding: PcmEncoding.PCM_ENCODING_S16LE },
        }),
      );
      assert.deepEqual(res.tokens, c.interleaved);
      if (c.num_samples !== undefined) assert.equal(res.audio.length, 2 * c.num_samples);
    });

    it("Ogg/Opus pages join into one stream", async () => {
      const c = manifest?.synthesize[0];
      assert.ok(c, "needs a synthesize case");
      const res = await collectSynthesis(
        client.synthesize(c.text, {
          ...synthesisOptions(c),
          outputFormat: { container: AudioContainer.AUDIO_CONTAINER_OGG, sampleRateHz: 16000 },
        }),
      );
      assert.equal(res.audio.subarray(0, 4).toString("ascii"), "OggS");
      assert.equal(res.format?.container, AudioContainer.AUDIO_CONTAINER_OGG);
      assert.deepEqual(res.tokens, c.interleaved);
    });

    it("breaking out of the loop cancels the call", async () => {
      const c = manifest?.synthesize[0];
      assert.ok(c, "needs a synthesize case");
      for await (const m of client.synthesize(c.text)) {
        assert.ok(m.requestId);
        break;
      }
      assert.ok((await client.listVoices()).length > 0, "the channel still works");
    });
  });

  describe("StreamSynthesize", () => {
    for (const c of (manifest?.synthesize ?? []).filter((x) => x.stream_pieces?.length)) {
      const pieces = c.stream_pieces ?? [];
      it(`${c.name} in ${pieces.length} text pieces`, async () => {
        assert.equal(pieces.join(""), c.text, "stream_pieces join to the text");
        const msgs: SynthesizeResponse[] = [];
        for await (const m of client.streamSynthesize(pieces, synthesisOptions(c))) msgs.push(m);
        checkSynthesis(c, msgs, await collectSynthesis(msgs), true);
      });
      it(`${c.name} from a slow async source`, async () => {
        const slow = (async function* () {
          for (const p of pieces) {
            await new Promise((r) => setTimeout(r, 20));
            yield p;
          }
        })();
        const res = await collectSynthesis(client.streamSynthesize(slow, synthesisOptions(c)));
        assert.deepEqual(res.tokens, c.interleaved);
      });
    }

    it("a failing text source cancels the call and is rethrown", async () => {
      const broken = (async function* () {
        yield "Hello ";
        throw new Error("no more text today");
      })();
      await assert.rejects(collectSynthesis(client.streamSynthesize(broken)), /no more text today/);
    });
  });

  it("voices: list, create, synthesize with, delete", async () => {
    const builtin = (await client.listVoices()).find((v) => v.builtin);
    assert.ok(builtin, "no built-in voice");
    await expectCode(client.deleteVoice(builtin.id), "FAILED_PRECONDITION");
    // The conformance recording says "The quick brown fox jumps over the lazy dog."
    const prompt = await readFile(conf("audio/speech_22k_mono.wav"));
    const name = `ts-client-test-${process.pid}`;
    const v = await client.createVoice(name, prompt, "The quick brown fox jumps over the lazy dog.", {
      consentNote: "synthetic espeak-ng recording",
    });
    try {
      assert.ok(v.id.length > 0);
      assert.equal(v.name, name);
      assert.equal(v.builtin, false);
      assert.ok(v.promptSeconds > 0);
      assert.ok((await client.listVoices()).some((x) => x.id === v.id), "new voice not listed");
      const res = await collectSynthesis(client.synthesize("Hello from a cloned voice.", { voice: v.id }));
      assert.equal(res.report?.voice, v.id);
      assert.ok(res.groupCount > 0);
    } finally {
      await client.deleteVoice(v.id);
    }
    await expectCode(client.deleteVoice(v.id), "NOT_FOUND");
  });

  it("the synthesize example writes a WAV", async () => {
    const c = manifest?.synthesize[0];
    assert.ok(c, "needs a synthesize case");
    const example = path.join(__dirname, "..", "examples", "synthesize.js");
    const dir = await mkdtemp(path.join(tmpdir(), "voxgate-ts-example-"));
    try {
      for (const stream of [false, true]) {
        const out = path.join(dir, `out-${stream}.wav`);
        const args = [example, "--addr", liveServerAddress(), "--out", out, ...(stream ? ["--stream"] : []), c.text];
        await promisify(execFile)(process.execPath, args);
        const wav = readWavInfo(await readFile(out));
        assert.equal(wav.sampleRateHz, c.sample_rate_hz);
        if (c.num_samples !== undefined) assert.equal(wav.numSamples, c.num_samples);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe("errors", () => {
    for (const c of manifest?.errors ?? []) {
      it(`${c.name} -> ${c.code}`, async () => {
        if (c.rpc === "Tokenize") {
          if (c.container_file !== undefined) {
            await expectCode(client.tokenize(await readFile(conf(c.container_file))), c.code);
          } else if (c.raw && c.raw_file !== undefined) {
            const format: RawAudioFormat = {
              encoding: pcmEncoding(c.raw.encoding),
              sampleRateHz: c.raw.sample_rate_hz,
              channels: c.raw.channels,
            };
            await expectCode(client.tokenize({ raw: { format, data: await readFile(conf(c.raw_file)) } }), c.code);
          } else {
            assert.fail(`Tokenize error case without container_file or raw+raw_file: ${JSON.stringify(c)}`);
          }
        } else if (c.rpc === "Synthesize" || c.rpc === "StreamSynthesize") {
          assert.ok(c.text !== undefined, `${c.rpc} error case without text`);
          const options = { voice: c.voice, styleInstruction: c.style_instruction };
          const responses =
            c.rpc === "Synthesize" ? client.synthesize(c.text, options) : client.streamSynthesize([c.text], options);
          await expectCode(collectSynthesis(responses), c.code);
        } else if (c.rpc === "Detokenize") {
          if (c.interleaved) await expectCode(client.detokenize(c.interleaved), c.code);
          else if (c.text !== undefined) await expectCode(client.detokenize(c.text), c.code);
          else if (c.linguistic && c.semantic)
            await expectCode(client.detokenize({ linguistic: c.linguistic, semantic: c.semantic }), c.code);
          else assert.fail(`Detokenize error case without tokens: ${JSON.stringify(c)}`);
        } else {
          assert.fail(`unsupported rpc in error case: ${c.rpc}`);
        }
      });
    }
  });

  it("echoes the x-request-id it was sent", async () => {
    const c = manifest?.tokenize[0];
    assert.ok(c, "needs a tokenize case");
    const res = await client.tokenizeFile(conf(c.file), { requestId: "ts-client-req-1" });
    assert.equal(res.requestId, "ts-client-req-1");
  });

  it("a tiny deadline on a long call yields DEADLINE_EXCEEDED", async () => {
    const cases = manifest?.tokenize ?? [];
    assert.ok(cases.length > 0, "needs a tokenize case");
    const longest = cases.map((c) => conf(c.file)).sort((a, b) => statSync(b).size - statSync(a).size)[0];
    await expectCode(client.tokenizeFile(longest, { timeoutMs: 1 }), "DEADLINE_EXCEEDED");
    // A live stream that stalls past its deadline also ends with it.
    const stalled = (async function* () {
      const wav = await readFile(longest);
      yield wav.subarray(0, 4096);
      await new Promise((r) => setTimeout(r, 5_000).unref());
      yield wav.subarray(4096);
    })();
    await expectCode(collectStreamTokens(client.streamTokenize(stalled, { timeoutMs: 300 })), "DEADLINE_EXCEEDED");
  });

  it("an aborted call fails with CANCELLED", async () => {
    const c = manifest?.tokenize[0];
    assert.ok(c, "needs a tokenize case");
    const ac = new AbortController();
    const p = client.tokenizeFile(conf(c.file), { signal: ac.signal });
    ac.abort();
    await expectCode(p, "CANCELLED");
  });
});

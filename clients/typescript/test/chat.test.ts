// ChatService against a live voxgate (VOXGATE_ADDR): a text turn, a spoken turn (speech made by
// the server's own Synthesize), a text-only conversation, an error, and the example program. The
// server runs a small language model on CPU, so replies are short (24 tokens, greedy) and each
// conversation has a 60 s deadline.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";

import {
  AudioContainer,
  collectChatReply,
  collectSynthesis,
  readWavInfo,
  TurnDetectionMode,
  VoxgateClient,
  VoxgateError,
  type ChatOptions,
  type ChatResponse,
} from "../src";
import { silentWav as wav16 } from "./fixtures";
import { liveServerAddress } from "./server";

const TIMEOUT_MS = 60_000;
const QUESTION = "What is the capital of France?";

/** Short greedy replies in MANUAL turn detection, WAV audio. */
function options(extra: ChatOptions = {}): ChatOptions {
  return {
    maxReplyTokens: 24,
    temperature: 0,
    turnDetection: { mode: TurnDetectionMode.TURN_DETECTION_MODE_MANUAL },
    outputFormat: { container: AudioContainer.AUDIO_CONTAINER_WAV },
    timeoutMs: TIMEOUT_MS,
    ...extra,
  };
}

describe("Chat against a live server", () => {
  let client: VoxgateClient;
  let question: Buffer;

  before(async () => {
    client = new VoxgateClient(liveServerAddress(), { timeoutMs: TIMEOUT_MS, streamTimeoutMs: TIMEOUT_MS });
    await client.waitForReady(30_000);
    // The question, spoken by the server's reference voice.
    const speech = await collectSynthesis(
      client.synthesize(QUESTION, { outputFormat: { container: AudioContainer.AUDIO_CONTAINER_WAV } }),
    );
    question = speech.audio;
    assert.ok(readWavInfo(question).numSamples > 0, "synthesized question");
  });

  after(() => {
    client?.close();
  });

  it("a text turn: deltas join to TurnEnd.text, a WAV reply, turn 0", async () => {
    const chat = client.chat(options());
    try {
      const r = await chat.turn("Say hello in five words.");
      const msgs = r.messages;
      msgs.forEach((m, i) => {
        assert.equal(m.turnIndex, 0, `turn_index of message ${i}`);
        assert.equal(m.requestId, msgs[0].requestId);
        assert.equal(m.message?.$case === "turnEnd", i === msgs.length - 1, `TurnEnd only last (message ${i})`);
      });
      assert.ok(msgs[0].requestId.length > 0, "request id");
      const deltas = msgs.map((m) => (m.message?.$case === "textDelta" ? m.message.textDelta : "")).join("");
      const end = r.turnEnd;
      assert.ok(end.text.trim().length > 0, "empty reply");
      assert.equal(deltas, end.text, "text deltas vs TurnEnd.text");
      assert.equal(r.text, end.text);
      assert.equal(r.turnIndex, 0);
      assert.equal(end.interrupted, false);
      assert.equal(end.heardText, end.text);
      assert.ok(end.replyTokens > 0 && end.replyTokens <= 24, `reply tokens ${end.replyTokens}`);
      const wav = readWavInfo(r.audio);
      assert.ok(wav.numSamples > 0 && wav.sampleRateHz > 0, JSON.stringify(wav));
      assert.equal(wav.bitsPerSample, 16);
      assert.equal(wav.sampleRateHz, r.format?.sampleRateHz);
      assert.ok(end.audioSeconds > 0, `audio_seconds ${end.audioSeconds}`);
      assert.ok(r.audioTokens.length > 0 && r.audioTokens.length % 5 === 0, `${r.audioTokens.length} audio tokens`);
      assert.deepEqual(await chat.finish(), [], "messages after the TurnEnd");
    } finally {
      chat.cancel();
    }
  });

  it("a spoken turn: the final transcript and user_transcript", async () => {
    const chat = client.chat(
      // (the reply's speech is covered by the other tests)
      options({ inputFormat: { container: AudioContainer.AUDIO_CONTAINER_WAV }, textOnly: true }),
    );
    try {
      const r = await chat.turn({ audio: question });
      const finals = r.messages.filter((m) => m.message?.$case === "transcript" && m.message.transcript.isFinal);
      assert.equal(finals.length, 1, `final transcripts: ${JSON.stringify(finals)}`);
      const heard = r.transcript.toLowerCase();
      assert.ok(heard.includes("capital") || heard.includes("france"), `final transcript: ${r.transcript}`);
      assert.ok(r.turnEnd.userTranscript.trim().length > 0, "user_transcript");
      assert.ok(r.turnEnd.text.trim().length > 0, "reply text");
      assert.equal(r.turnIndex, 0);
      await chat.finish();
    } finally {
      chat.cancel();
    }
  });

  it("text_only: no audio messages, two turns", async () => {
    const chat = client.chat(options({ textOnly: true }));
    try {
      for (const turn of [0, 1]) {
        await chat.sendText("Name a ");
        await chat.sendText("color.");
        await chat.endTurn();
        const msgs: ChatResponse[] = [];
        for await (const m of chat) {
          msgs.push(m);
          if (m.message?.$case === "turnEnd") break;
        }
        for (const m of msgs) {
          assert.ok(m.message?.$case !== "audio" && m.audioTokens.length === 0, `audio in text-only mode: ${JSON.stringify(m)}`);
          assert.equal(m.turnIndex, turn);
        }
        const r = collectChatReply(msgs);
        assert.ok(r.text.length > 0);
        assert.equal(r.turnEnd.text, r.text);
        assert.equal(r.turnEnd.audioSeconds, 0);
        assert.ok(r.turnEnd.userTranscript.includes("color"), r.turnEnd.userTranscript);
      }
      await chat.finish();
    } finally {
      chat.cancel();
    }
  });

  it("audio without input_format -> INVALID_ARGUMENT", async () => {
    const chat = client.chat(options());
    try {
      await assert.rejects(chat.turn({ audio: wav16(16_000, 16_000), chunkBytes: 8192 }), (err: unknown) => {
        assert.ok(err instanceof VoxgateError, `expected a VoxgateError, got ${String(err)}`);
        assert.equal(err.codeName, "INVALID_ARGUMENT", `${err.codeName}: ${err.details}`);
        assert.equal(err.rpc, "Chat");
        return true;
      });
      assert.equal(chat.error?.codeName, "INVALID_ARGUMENT");
    } finally {
      chat.cancel();
    }
  });

  it("the chat example writes the reply as a WAV", async () => {
    const example = path.join(__dirname, "..", "examples", "chat.js");
    const dir = await mkdtemp(path.join(tmpdir(), "voxgate-ts-chat-"));
    try {
      const q = path.join(dir, "question.wav");
      await writeFile(q, question);
      for (const turn of [["--audio", q], ["--text", "Say hello."]]) {
        const out = path.join(dir, `reply${turn[0]}.wav`);
        const args = [example, "--addr", liveServerAddress(), "--out", out, "--max-tokens", "24", "--temperature", "0",
          "--timeout-ms", String(TIMEOUT_MS), ...turn];
        const { stdout } = await promisify(execFile)(process.execPath, args);
        const lines = stdout.trim().split("\n");
        assert.equal(lines.length, 2, stdout);
        assert.ok(lines[0].startsWith("user: "), stdout);
        assert.ok(lines[1].startsWith("assistant: ") && lines[1].length > "assistant: ".length, stdout);
        if (turn[0] === "--audio") {
          const heard = lines[0].toLowerCase();
          assert.ok(heard.includes("capital") || heard.includes("france"), stdout);
        }
        const wav = readWavInfo(await readFile(out));
        assert.ok(wav.numSamples > 0 && wav.sampleRateHz > 0, JSON.stringify(wav));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

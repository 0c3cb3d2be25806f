// Offline checks of ChatSession against a scripted in-process ChatService (no voxgate needed):
// the send methods, the async iterator, turn() with text and audio, and the error mapping.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import * as grpc from "@grpc/grpc-js";
import {
  AudioContainer,
  collectChatReply,
  PcmEncoding,
  VoxgateClient,
  VoxgateError,
  type ChatRequest,
  type ChatResponse,
} from "../src";
import { ChatServiceService, type ChatConfig } from "../src/gen/voxgate/v1/chat";
import { silentWav as wav16 } from "./fixtures";

const received: ChatRequest[] = [];

/**
 * Answers each user turn with "You said: TEXT" (or "N bytes of audio in K pieces") as two text
 * deltas, a WAV reply (an empty piece with tokens, then the file) unless text_only, and a TurnEnd.
 * Audio without an input format, or a playback ack of an unknown turn, ends the call with
 * INVALID_ARGUMENT, as the real server does.
 */
function fakeChat(call: grpc.ServerDuplexStream<ChatRequest, ChatResponse>): void {
  let config: ChatConfig | undefined;
  let turn = 0;
  let text = "";
  let audioBytes = 0;
  let audioPieces = 0;
  let done = false;
  const fail = (details: string) => {
    done = true;
    call.emit("error", { code: grpc.status.INVALID_ARGUMENT, details });
  };
  const send = (m: Partial<ChatResponse>) =>
    call.write({ requestId: "fake-request", turnIndex: turn, audioTokens: [], words: [], startSeconds: 0, ...m });
  call.on("data", (req: ChatRequest) => {
    if (done) return;
    if (!config) {
      if (req.message?.$case !== "config") return fail("the first message must be a config");
      config = req.message.config;
      return;
    }
    received.push(req);
    const msg = req.message;
    if (msg?.$case === "config") return fail("a second config");
    if (msg?.$case === "playback") {
      if (msg.playback.turnIndex >= turn) fail(`playback ack for unknown turn ${msg.playback.turnIndex}`);
      return;
    }
    if (msg?.$case !== "input") return;
    const content = msg.input.content;
    if (content?.$case === "text") text += content.text;
    if (content?.$case === "audio") {
      if (!config.inputFormat) return fail("audio without input_format");
      audioBytes += content.audio.length;
      audioPieces++;
    }
    if (!msg.input.endOfTurn) return;
    let user = text;
    if (audioPieces > 0) {
      const heard = `${audioBytes} bytes of audio in ${audioPieces} pieces`;
      send({ message: { $case: "transcript", transcript: { text: heard, isFinal: false } } });
      send({ message: { $case: "transcript", transcript: { text: heard, isFinal: true } } });
      user = `${heard} ${text}`.trim();
    }
    const deltas = ["You said: ", user];
    for (const d of deltas) send({ message: { $case: "textDelta", textDelta: d } });
    let seconds = 0;
    if (!config.textOnly) {
      const format = { container: AudioContainer.AUDIO_CONTAINER_WAV, encoding: PcmEncoding.PCM_ENCODING_S16LE, sampleRateHz: 24000 };
      seconds = 0.1;
      send({
        message: { $case: "audio", audio: { data: Buffer.alloc(0), format, durationSeconds: 0 } },
        audioTokens: [1, 2, 1100, 1200, 1300],
        words: [{ word: "You", startMs: 0, endMs: 50 }],
      });
      send({
        message: { $case: "audio", audio: { data: wav16(2400, 24000), format, durationSeconds: seconds } },
        startSeconds: seconds,
      });
    }
    const full = deltas.join("");
    send({
      message: {
        $case: "turnEnd",
        turnEnd: { text: full, userTranscript: user, interrupted: false, heardText: full, replyTokens: 5, audioSeconds: seconds },
      },
    });
    turn++;
    text = "";
    audioBytes = 0;
    audioPieces = 0;
  });
  call.on("end", () => {
    if (!done) {
      done = true;
      call.end();
    }
  });
}

async function expectCode(p: Promise<unknown>, code: string): Promise<VoxgateError> {
  let caught: VoxgateError | undefined;
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof VoxgateError, `expected a VoxgateError, got ${String(err)}`);
    assert.equal(err.codeName, code, `status ${err.codeName} (${err.details}), want ${code}`);
    caught = err;
    return true;
  });
  return caught!;
}

describe("ChatSession against a scripted ChatService", () => {
  let server: grpc.Server;
  let client: VoxgateClient;

  before(async () => {
    server = new grpc.Server();
    server.addService(ChatServiceService, { chat: fakeChat });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    client = new VoxgateClient(`127.0.0.1:${port}`, { streamTimeoutMs: 20_000 });
  });

  after(() => {
    client?.close();
    server?.forceShutdown();
  });

  it("text turns, the send methods and the iterator", async () => {
    const chat = client.chat();
    try {
      for (const i of [0, 1]) {
        const events: ChatResponse[] = [];
        const r = await chat.turn({ text: `hello ${i}`, onEvent: (m) => events.push(m) });
        assert.equal(r.text, `You said: hello ${i}`);
        assert.equal(r.turnEnd.text, r.text);
        assert.equal(r.turnEnd.userTranscript, `hello ${i}`);
        assert.equal(r.turnIndex, i);
        assert.equal(r.requestId, "fake-request");
        assert.equal(r.messages.length, 5);
        assert.equal(events.length, 5);
        assert.equal(r.audioMessages, 2);
        assert.deepEqual(r.audioTokens, [1, 2, 1100, 1200, 1300]);
        assert.equal(r.words.length, 1);
        assert.equal(r.format?.sampleRateHz, 24000);
        assert.equal(r.audio.length, 44 + 4800);
        assert.equal(r.audio.toString("ascii", 0, 4), "RIFF");
      }
      await chat.turn("short form"); // a string is a typed turn
      await chat.sendText("a ");
      await chat.sendText("b");
      await chat.endTurn();
      await chat.ackPlayback(1, 1500);
      await chat.interrupt();
      const seen: ChatResponse[] = [];
      for await (const m of chat) {
        seen.push(m);
        if (m.message?.$case === "turnEnd") break; // leaves the conversation open
      }
      const r = collectChatReply(seen);
      assert.equal(r.text, "You said: a b");
      assert.equal(r.turnIndex, 3);
      await chat.sendTextTurn("last");
      chat.end();
      chat.end(); // no-op
      await assert.rejects(chat.sendText("late"));
      const rest: ChatResponse[] = [];
      for await (const m of chat) rest.push(m);
      assert.equal(collectChatReply(rest).text, "You said: last");
      assert.equal(await chat.next(), undefined);
      assert.deepEqual(await chat.finish(), []);
      assert.equal(chat.ended, true);
      assert.equal(chat.error, undefined);
    } finally {
      chat.cancel();
    }
  });

  it("an audio turn from a buffer and from pieces", async () => {
    const chat = client.chat({ inputFormat: { container: AudioContainer.AUDIO_CONTAINER_WAV }, textOnly: true });
    try {
      received.length = 0;
      const wav = wav16(50_000, 16_000); // 100 044 bytes: 4 pieces of 32 KiB, the last shorter
      let r = await chat.turn({ audio: wav });
      const want = "100044 bytes of audio in 4 pieces";
      assert.equal(r.transcript, want);
      assert.equal(r.turnEnd.userTranscript, want);
      assert.equal(r.audio.length, 0);
      assert.equal(r.audioMessages, 0);
      const last = received[received.length - 1];
      assert.ok(last.message?.$case === "input" && last.message.input.endOfTurn && !last.message.input.content, JSON.stringify(last));
      const pieces = (async function* () {
        for (let i = 0; i < 1000; i += 300) yield wav.subarray(i, Math.min(i + 300, 1000));
      })();
      r = await chat.turn({ text: "and text", audio: pieces });
      assert.equal(r.turnEnd.userTranscript, "1000 bytes of audio in 4 pieces and text");
      assert.equal(r.turnIndex, 1);
      await chat.finish();
    } finally {
      chat.cancel();
    }
  });

  it("errors", async () => {
    // Audio without an input format: INVALID_ARGUMENT as a VoxgateError.
    let chat = client.chat();
    const e = await expectCode(chat.turn({ audio: wav16(1600, 16_000), chunkBytes: 1024 }), "INVALID_ARGUMENT");
    assert.equal(e.rpc, "Chat");
    assert.equal(chat.error, e);
    await assert.rejects(chat.sendText("more"), (err: unknown) => err === e);
    await expectCode(chat.next(), "INVALID_ARGUMENT");

    // A playback ack of an unknown turn, seen by the iterator.
    chat = client.chat();
    await chat.ackPlayback(7, 1000);
    await expectCode(
      (async () => {
        for await (const m of chat) void m;
      })(),
      "INVALID_ARGUMENT",
    );

    // A failing audio source cancels the call and is what turn() rejects with.
    chat = client.chat({ inputFormat: { container: AudioContainer.AUDIO_CONTAINER_WAV } });
    const broken = (async function* () {
      yield Buffer.from("RIFF");
      throw new Error("disk on fire");
    })();
    await assert.rejects(chat.turn({ audio: broken }), /disk on fire/);
    await expectCode(chat.next(), "CANCELLED");

    // An onEvent that throws ends the conversation.
    chat = client.chat({ textOnly: true });
    await assert.rejects(
      chat.turn({
        text: "hi",
        onEvent: () => {
          throw new Error("enough");
        },
      }),
      /enough/,
    );
    await expectCode(chat.finish(), "CANCELLED");

    // The end of the conversation before a TurnEnd; a turn without input.
    chat = client.chat();
    chat.end();
    await assert.rejects(chat.readReply(), /ended before the reply's TurnEnd/);
    await assert.rejects(chat.turn({}), TypeError);

    // An aborted signal.
    const ac = new AbortController();
    chat = client.chat({ signal: ac.signal });
    ac.abort();
    await expectCode(chat.next(), "CANCELLED");
    assert.throws(() => client.chat({ signal: ac.signal }), VoxgateError);
  });
});

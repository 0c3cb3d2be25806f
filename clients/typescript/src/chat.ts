import * as grpc from "@grpc/grpc-js";

import { AudioContainer, type OutputAudioFormat, type StreamAudioFormat } from "./gen/voxgate/v1/audio";
import {
  type ChatConfig,
  type ChatRequest,
  type ChatResponse,
  type TurnDetection,
  type TurnEnd,
  type UserInput,
} from "./gen/voxgate/v1/chat";
import type { WordTiming } from "./gen/voxgate/v1/synthesis";
import { toVoxgateError, VoxgateError } from "./errors";
import type { CallOptions } from "./client";

const RPC = "Chat";

/** The default piece size of a turn's audio given as one buffer. */
export const DEFAULT_CHAT_CHUNK_BYTES = 32 * 1024;

/**
 * The configuration of a conversation (sent as its first message) and the call's options. Left
 * out: the server's defaults (the model's system prompt, the default voice, WAV replies, server
 * voice activity detection, the default reply length and temperature). The deadline
 * (`timeoutMs`, default the client's `streamTimeoutMs`) bounds the whole conversation.
 */
export interface ChatOptions extends CallOptions {
  /** System prompt for the assistant. */
  systemPrompt?: string;
  /** Voice of the spoken reply, by name. */
  voice?: string;
  /**
   * Format of user audio; required to send audio. E.g. `{ container: AudioContainer.AUDIO_CONTAINER_WAV }`
   * for a WAV file cut anywhere, or RAW with a `raw` format for live PCM.
   */
  inputFormat?: StreamAudioFormat;
  /** Format of the spoken reply. RAW and OGG arrive piece by piece; WAV and FLAC whole in the reply's last audio message. */
  outputFormat?: Partial<OutputAudioFormat>;
  /** Reply in text only, without audio. */
  textOnly?: boolean;
  /** How a spoken turn ends: `{ mode: TurnDetectionMode.TURN_DETECTION_MODE_MANUAL }` for `endTurn()` only. */
  turnDetection?: Partial<TurnDetection>;
  /** Most tokens in one reply, 1..1024. */
  maxReplyTokens?: number;
  /** Sampling temperature, 0 (greedy) ..2. */
  temperature?: number;
  /** Seed of the reply sampling, for reproducible replies. */
  seed?: number;
}

/** One assistant reply: the server's messages up to and including its TurnEnd, combined. */
export interface ChatReply {
  requestId: string;
  /** The reply's turn index, from 0. */
  turnIndex: number;
  /** The concatenated text deltas (equal to `turnEnd.text`). */
  text: string;
  /**
   * The audio data of all audio messages, concatenated: the whole file for WAV and FLAC (it
   * arrives in the reply's last audio message), the Ogg/Opus pages for OGG, the PCM of all
   * pieces for RAW; empty in text-only mode.
   */
  audio: Buffer;
  /** Format of `audio`, defaults resolved (undefined without audio). */
  format?: OutputAudioFormat;
  /** The interleaved audio token ids of all audio pieces. */
  audioTokens: number[];
  /** Word timings of all audio pieces, from the reply's start. */
  words: WordTiming[];
  /** The final transcript of the user's spoken turn ("" for typed turns). */
  transcript: string;
  /** The TurnEnd: full text, what the user said, interrupted, heard text, latency, tokens, audio seconds. */
  turnEnd: TurnEnd;
  /** The messages of the reply, in arrival order (the TurnEnd last). */
  messages: ChatResponse[];
  /** How many of them carried audio. */
  audioMessages: number;
}

/** One user turn for {@link ChatSession.turn}: typed text, speech, or both (the text is sent first). */
export interface TurnInput {
  /** Text typed by the user. */
  text?: string;
  /**
   * Speech in the configured input format: a whole buffer (e.g. a WAV file), sent in pieces of
   * `chunkBytes`, or pieces as they come (e.g. `readChunks(path, 32768)`).
   */
  audio?: Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  /** Piece size for a buffer of audio. Default 32 KiB. */
  chunkBytes?: number;
  /** Called with each message of the reply as it arrives; throwing ends the conversation. */
  onEvent?: (message: ChatResponse) => void;
}

/** Combines the messages of one reply (see {@link ChatReply}). */
export function collectChatReply(messages: readonly ChatResponse[]): ChatReply {
  const reply: ChatReply = {
    requestId: messages[0]?.requestId ?? "",
    turnIndex: messages[messages.length - 1]?.turnIndex ?? 0,
    text: "",
    audio: Buffer.alloc(0),
    audioTokens: [],
    words: [],
    transcript: "",
    turnEnd: { text: "", userTranscript: "", interrupted: false, heardText: "", replyTokens: 0, audioSeconds: 0 },
    messages: [...messages],
    audioMessages: 0,
  };
  const data: Buffer[] = [];
  for (const m of messages) {
    const msg = m.message;
    switch (msg?.$case) {
      case "textDelta":
        reply.text += msg.textDelta;
        break;
      case "audio":
        reply.audioMessages++;
        if (msg.audio.format) reply.format = msg.audio.format;
        if (msg.audio.data.length > 0) data.push(Buffer.from(msg.audio.data));
        reply.audioTokens.push(...m.audioTokens);
        reply.words.push(...m.words);
        break;
      case "transcript":
        if (msg.transcript.isFinal) reply.transcript = msg.transcript.text;
        break;
      case "turnEnd":
        reply.turnEnd = msg.turnEnd;
        break;
    }
  }
  reply.audio = Buffer.concat(data);
  return reply;
}

/** The ChatConfig message for `options`. */
export function chatConfig(options: ChatOptions): ChatConfig {
  const config: ChatConfig = {
    systemPrompt: options.systemPrompt ?? "",
    voice: options.voice ?? "",
    textOnly: options.textOnly ?? false,
    maxReplyTokens: options.maxReplyTokens ?? 0,
  };
  if (options.inputFormat) config.inputFormat = options.inputFormat;
  if (options.outputFormat) {
    config.outputFormat = {
      container: options.outputFormat.container ?? AudioContainer.AUDIO_CONTAINER_UNSPECIFIED,
      encoding: options.outputFormat.encoding ?? 0,
      sampleRateHz: options.outputFormat.sampleRateHz ?? 0,
    };
  }
  if (options.turnDetection) {
    config.turnDetection = {
      mode: options.turnDetection.mode ?? 0,
      silenceMs: options.turnDetection.silenceMs ?? 0,
      prefixPaddingMs: options.turnDetection.prefixPaddingMs ?? 0,
      threshold: options.turnDetection.threshold ?? 0,
    };
  }
  if (options.temperature !== undefined) config.temperature = options.temperature;
  if (options.seed !== undefined) config.seed = options.seed;
  return config;
}

type Waiter = { resolve: (m: ChatResponse | undefined) => void; reject: (err: unknown) => void };

/**
 * One conversation: a ChatService.Chat call, made by `VoxgateClient.chat(options)` (which sends
 * the config first).
 *
 * Send user input and controls with `sendText`, `sendAudio`, `endTurn`, `sendTextTurn`,
 * `interrupt`, `ackPlayback` (each resolves once the message is written, with backpressure); end
 * your side with `end()`. Receive the server's messages by iterating the session
 * (`for await (const m of session)`), with `next()`, or per reply with `readReply()`; `turn()`
 * sends a whole user turn and resolves to its reply. Breaking out of a `for await` loop leaves
 * the conversation open (e.g. for the next turn); `cancel()` ends it at once, `finish()` ends it
 * cleanly. A failed call rejects with a {@link VoxgateError}.
 */
export class ChatSession implements AsyncIterable<ChatResponse> {
  private readonly queue: ChatResponse[] = [];
  private readonly waiters: Waiter[] = [];
  private done = false;
  private failure: VoxgateError | undefined;
  private halfClosed = false;
  private cancelled = false;

  /** @internal Use `VoxgateClient.chat`. */
  constructor(
    private readonly call: grpc.ClientDuplexStream<ChatRequest, ChatResponse>,
    config: ChatConfig,
    signal?: AbortSignal,
  ) {
    call.on("data", (m: ChatResponse) => {
      const w = this.waiters.shift();
      if (w) w.resolve(m);
      else this.queue.push(m);
    });
    call.on("error", (err: unknown) => {
      const e = toVoxgateError(RPC, err);
      this.finishWith(e instanceof VoxgateError ? e : new VoxgateError(RPC, grpc.status.UNKNOWN, String(err), undefined, { cause: err }));
    });
    call.on("end", () => this.finishWith(undefined));
    if (signal) {
      const onAbort = () => this.cancel();
      signal.addEventListener("abort", onAbort, { once: true });
      call.on("close", () => signal.removeEventListener("abort", onAbort));
    }
    call.write({ message: { $case: "config", config } });
  }

  private finishWith(failure: VoxgateError | undefined): void {
    if (this.done) return;
    this.done = true;
    this.failure = failure;
    for (const w of this.waiters.splice(0)) {
      if (failure) w.reject(failure);
      else w.resolve(undefined);
    }
  }

  /** Whether the call has ended (completed, failed or cancelled). */
  get ended(): boolean {
    return this.done;
  }

  /** The error the call ended with; undefined while it runs or when it ended OK. */
  get error(): VoxgateError | undefined {
    return this.failure;
  }

  // ------------------------------------------------------------------ sending

  /** Sends any request (the config has been sent already). Resolves when written. */
  async send(request: ChatRequest): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.done || this.call.destroyed || this.call.writableEnded) {
      throw new Error(this.halfClosed ? "Chat: send after end()" : "Chat: the conversation has ended");
    }
    if (this.cancelled) throw new Error("Chat: the session was cancelled");
    if (!this.call.write(request)) await drained(this.call);
  }

  /** Sends a piece of a user turn: text or audio, and/or the end of the turn. */
  sendInput(input: Partial<UserInput>): Promise<void> {
    return this.send({ message: { $case: "input", input: { endOfTurn: false, ...input } } });
  }

  /** Sends a piece of typed text of the current user turn (`endTurn()` ends it). */
  sendText(text: string): Promise<void> {
    return this.sendInput({ content: { $case: "text", text } });
  }

  /** Sends a piece of speech in the configured input format (without one: INVALID_ARGUMENT). */
  sendAudio(piece: Uint8Array): Promise<void> {
    return this.sendInput({ content: { $case: "audio", audio: asBuffer(piece) } });
  }

  /**
   * Ends the user turn; the assistant replies. Ends every text turn, and spoken turns in MANUAL
   * turn detection (with SERVER_VAD it ends a turn the server has not ended yet).
   */
  endTurn(): Promise<void> {
    return this.sendInput({ endOfTurn: true });
  }

  /** Sends a whole typed user turn: the text and the end of the turn, in one message. */
  sendTextTurn(text: string): Promise<void> {
    return this.sendInput({ content: { $case: "text", text }, endOfTurn: true });
  }

  /** Stops the reply in progress (barge-in); its TurnEnd says `interrupted`. */
  interrupt(): Promise<void> {
    return this.send({ message: { $case: "interrupt", interrupt: {} } });
  }

  /** Tells the server how much of reply `turnIndex`'s audio the user has heard, in ms from its start. */
  ackPlayback(turnIndex: number, playedMs: number): Promise<void> {
    return this.send({ message: { $case: "playback", playback: { turnIndex, playedMs } } });
  }

  /**
   * Ends the client's side: the server finishes the reply in progress, then ends the call (the
   * iteration then ends). A no-op a second time or after the end.
   */
  end(): void {
    if (this.halfClosed || this.done || this.call.writableEnded) return;
    this.halfClosed = true;
    this.call.end();
  }

  /** Cancels the call if it is still running (it ends with CANCELLED). */
  cancel(): void {
    if (this.done) return;
    this.cancelled = true;
    this.call.cancel();
  }

  // ------------------------------------------------------------------ receiving

  /**
   * The next message of the server; undefined once the conversation has ended OK. Rejects with
   * the VoxgateError it ended with otherwise.
   */
  next(): Promise<ChatResponse | undefined> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    if (this.done) return this.failure ? Promise.reject(this.failure) : Promise.resolve(undefined);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** The server's messages until the end of the conversation. Breaking out leaves it open. */
  [Symbol.asyncIterator](): AsyncIterator<ChatResponse> {
    return {
      next: async (): Promise<IteratorResult<ChatResponse>> => {
        const m = await this.next();
        return m ? { value: m, done: false } : { value: undefined, done: true };
      },
      return: async (): Promise<IteratorResult<ChatResponse>> => ({ value: undefined, done: true }),
    };
  }

  /**
   * Reads the server's messages up to the next TurnEnd and combines them (e.g. after speech that
   * the server's turn detection ended). Rejects if the conversation ends before a TurnEnd.
   */
  async readReply(onEvent?: (message: ChatResponse) => void): Promise<ChatReply> {
    const messages: ChatResponse[] = [];
    for (;;) {
      const m = await this.next();
      if (!m) throw new Error("Chat: the conversation ended before the reply's TurnEnd");
      messages.push(m);
      if (onEvent) {
        try {
          onEvent(m);
        } catch (err) {
          this.cancel();
          throw err;
        }
      }
      if (m.message?.$case === "turnEnd") return collectChatReply(messages);
    }
  }

  /**
   * Sends one whole user turn (a string is typed text) and its end, and resolves to the reply.
   * Audio is sent (with backpressure) while the server's messages are read. Meant for text turns
   * and MANUAL turn detection: with SERVER_VAD the server may end the turn before all the audio
   * is sent. A failure of the audio source cancels the call and is what this rejects with.
   */
  async turn(input: string | TurnInput): Promise<ChatReply> {
    const t: TurnInput = typeof input === "string" ? { text: input } : input;
    if (!t.text && !t.audio) throw new TypeError("a turn needs text or audio");
    const chunkBytes = t.chunkBytes ?? DEFAULT_CHAT_CHUNK_BYTES;
    if (!Number.isInteger(chunkBytes) || chunkBytes <= 0) throw new RangeError("chunkBytes must be a positive integer");
    let localError: { error: unknown } | undefined;
    const sending = (async () => {
      if (!t.audio) {
        await this.sendTextTurn(t.text ?? "");
        return;
      }
      if (t.text) await this.sendText(t.text);
      for await (const piece of audioPieces(t.audio, chunkBytes)) {
        if (piece.byteLength > 0) await this.sendAudio(piece);
      }
      await this.endTurn();
    })().catch((error: unknown) => {
      // Once the call has ended, its status is what reading the reply reports; any other
      // failure (the audio source threw) ends the conversation and is reported instead.
      if (this.done) return;
      localError = { error };
      this.cancel();
    });
    try {
      const reply = await this.readReply(t.onEvent);
      await sending;
      if (localError) throw localError.error;
      return reply;
    } catch (err) {
      await sending;
      if (localError) throw localError.error;
      throw err;
    }
  }

  /**
   * Ends the conversation cleanly: `end()`, then reads the rest (the end of a reply in progress)
   * until the call ends. Resolves to the messages read; rejects if the call failed.
   */
  async finish(): Promise<ChatResponse[]> {
    this.end();
    const rest: ChatResponse[] = [];
    for (let m = await this.next(); m; m = await this.next()) rest.push(m);
    return rest;
  }
}

async function* audioPieces(
  audio: Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  chunkBytes: number,
): AsyncGenerator<Uint8Array, void, undefined> {
  if (audio instanceof Uint8Array) {
    for (let off = 0; off < audio.byteLength; off += chunkBytes) yield audio.subarray(off, off + chunkBytes);
    return;
  }
  yield* audio;
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Resolves when the stream can take more writes, or has ended. */
function drained(call: grpc.ClientDuplexStream<ChatRequest, ChatResponse>): Promise<void> {
  return new Promise((resolve) => {
    const events = ["drain", "status", "error", "close"] as const;
    const done = () => {
      for (const ev of events) call.off(ev, done);
      resolve();
    };
    for (const ev of events) call.on(ev, done);
  });
}

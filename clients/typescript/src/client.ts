import * as grpc from "@grpc/grpc-js";
import { readFileSync } from "node:fs";
import { open, readFile, writeFile } from "node:fs/promises";

import {
  AudioContainer,
  type AudioInput,
  type OutputAudioFormat,
  type RawAudioFormat,
  type StreamAudioFormat,
} from "./gen/voxgate/v1/audio";
import { ChatServiceClient } from "./gen/voxgate/v1/chat";
import { DiscoveryServiceClient, type GetServerInfoResponse } from "./gen/voxgate/v1/discovery";
import {
  type SpeechStyle,
  type StreamSynthesizeRequest,
  type StreamSynthesizeResponse,
  type SynthesisReport,
  SynthesisServiceClient,
  type SynthesizeRequest,
  type SynthesizeResponse,
  type Voice,
  type VoicePrompt,
  type WordTiming,
} from "./gen/voxgate/v1/synthesis";
import {
  type DetokenizeRequest,
  type DetokenizeResponse,
  type StreamTokenizeRequest,
  type StreamTokenizeResponse,
  TokenizerServiceClient,
  type TokenizeResponse,
} from "./gen/voxgate/v1/tokenizer";
import type { AudioTokens } from "./gen/voxgate/v1/tokens";
import { chatConfig, ChatSession, type ChatOptions } from "./chat";
import { toVoxgateError, VoxgateError } from "./errors";
import { methodConfigFor, serviceConfig, type ServiceConfig } from "./service-config";

/** Options of a VoxgateClient. */
export interface VoxgateClientOptions {
  /** Deadline of each unary call (Tokenize, Detokenize, GetServerInfo) in ms. Default 60 000. */
  timeoutMs?: number;
  /**
   * Deadline of a whole streaming call in ms (StreamTokenize, Synthesize, StreamSynthesize, a
   * whole Chat conversation). Default 300 000.
   */
  streamTimeoutMs?: number;
  /**
   * TLS (default: plaintext): `true` trusts Node's root CAs; a {@link TlsOptions} names the CA to
   * trust, a client certificate for mutual TLS, a server name. A server that fails the handshake,
   * or a plaintext client of a TLS port, gets UNAVAILABLE.
   */
  tls?: TlsOptions | true;
  /**
   * A bearer token sent with every call (on both channels, and through the public stubs) as
   * `authorization: Bearer <token>`. It is sent on plaintext channels too (for a mesh sidecar
   * that does the TLS), but a token on a plaintext channel is readable by anyone on the path: use
   * it with `tls`. A missing or unknown token fails calls with UNAUTHENTICATED, a tenant calling a
   * service it may not with PERMISSION_DENIED.
   */
  token?: string;
  /**
   * Channel credentials of your own (instead of `tls`). Default: plaintext
   * (`grpc.credentials.createInsecure()`).
   */
  credentials?: grpc.ChannelCredentials;
  /**
   * Whether calls wait for the server (default true, as the published service config says): a
   * call made while the server is unreachable (down, restarting, draining) waits for a connection
   * until its deadline instead of failing at once with UNAVAILABLE. Command-line tools usually
   * want false, to fail fast.
   */
  waitForReady?: boolean;
  /**
   * Replaces the published service config (`serviceConfig()`: retries on UNAVAILABLE for the
   * idempotent unary calls, wait-for-ready); `null`: none. Overrides `waitForReady`.
   */
  serviceConfig?: ServiceConfig | null;
  /**
   * Extra grpc-js channel options, merged over the defaults of both channels: the service config
   * (`grpc.service_config`), no receive size limit (decoded audio can exceed grpc's 4 MiB default;
   * the server enforces its own limits, see GetServerInfo), and on the channel of the streaming
   * calls `grpc.per_rpc_retry_buffer_size: 0` (keeps streams of many small pieces fast).
   */
  channelOptions?: grpc.ChannelOptions;
}

/** TLS settings of a VoxgateClient. A string is a PEM file's path; a Buffer, PEM contents. */
export interface TlsOptions {
  /** CA certificate(s) to trust. Default: Node's root CAs. */
  ca?: string | Buffer;
  /** A client certificate (chain), for servers that require one (mutual TLS); needs `key`. */
  cert?: string | Buffer;
  /** The client certificate's private key. */
  key?: string | Buffer;
  /** The name the server's certificate must carry, instead of the address's host. */
  serverName?: string;
}

/** The channel credentials of TLS settings (reads the files now). */
export function tlsCredentials(tls: TlsOptions | true = {}): grpc.ChannelCredentials {
  const t = tls === true ? {} : tls;
  if ((t.cert === undefined) !== (t.key === undefined)) {
    throw new TypeError("a TLS client certificate needs its key (and the key its certificate)");
  }
  const pem = (v: string | Buffer | undefined) => (v === undefined ? null : typeof v === "string" ? readFileSync(v) : v);
  return grpc.credentials.createSsl(pem(t.ca), pem(t.key), pem(t.cert));
}

/**
 * A grpc-js interceptor that adds `authorization: Bearer <token>` to every call (what the
 * `token` option installs; for clients of your own, pass it in their `interceptors` option).
 */
export function bearerTokenInterceptor(token: string): grpc.Interceptor {
  if (!/^[\x21-\x7e]+$/.test(token)) throw new TypeError("a bearer token is printable ASCII without spaces");
  const value = `Bearer ${token}`;
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set("authorization", value);
        next(metadata, listener);
      },
    });
}

/** Per-call options. */
export interface CallOptions {
  /** Deadline of this call in ms, overriding the client's default. */
  timeoutMs?: number;
  /** Cancels the call (it then fails with CANCELLED). */
  signal?: AbortSignal;
  /** Sent as "x-request-id"; the server echoes it as the response's request_id. */
  requestId?: string;
}

/** Raw headerless PCM and its layout. */
export interface RawPcm {
  format: RawAudioFormat;
  data: Uint8Array;
}

/** Audio for Tokenize: a whole file's bytes (WAV, FLAC, OGG, MP3) or raw PCM. */
export type AudioSource = Uint8Array | { raw: RawPcm };

/**
 * Tokens for Detokenize: interleaved ids N, the "<audio_N>" text form, or the two streams.
 */
export type TokenInput = readonly number[] | Int32Array | string | { linguistic: readonly number[]; semantic: readonly number[] };

export interface TokenizeOptions extends CallOptions {
  /** Also return the "<audio_N>" text form. */
  includeText?: boolean;
}

export interface DetokenizeOptions extends CallOptions {
  /** Output format; fields left out take the server's defaults (WAV, S16LE, native rate). */
  outputFormat?: Partial<OutputAudioFormat>;
}

export interface StreamTokenizeOptions extends CallOptions {
  /** Format of the pieces. Default: a WAV file cut anywhere (AUDIO_CONTAINER_WAV). */
  format?: StreamAudioFormat;
  /** Also return the "<audio_N>" text form. */
  includeText?: boolean;
}

export interface StreamTokenizeFileOptions extends StreamTokenizeOptions {
  /** Size of each piece sent, in bytes. Default 3840 (120 ms of 16 kHz 16-bit mono). */
  chunkBytes?: number;
}

/** Voice, style and output format of Synthesize and StreamSynthesize. */
export interface SynthesizeOptions extends CallOptions {
  /** A built-in voice's name or a registered voice's id (default: the server's default voice). */
  voice?: string;
  /** A recording to clone for this call only (audio and transcript); overrides `voice`. */
  prompt?: VoicePrompt;
  /** A style in words or Step-Audio prefixes, e.g. "speak slowly", "(高兴1)(慢速1)". */
  styleInstruction?: string;
  /** Typed style fields; they win over `styleInstruction`. */
  style?: Partial<SpeechStyle>;
  /**
   * Output format; fields left out take the server's defaults (WAV, S16LE, native rate).
   * WAV and FLAC arrive whole in the final message; RAW (PCM) and OGG (Opus pages) piece by piece.
   */
  outputFormat?: Partial<OutputAudioFormat>;
}

/** A whole Synthesize / StreamSynthesize answer, combined (see collectSynthesis). */
export interface SynthesisResult {
  requestId: string;
  /** The interleaved audio token ids of all pieces ([l, l, s, s, s] per 120 ms group). */
  tokens: number[];
  groupCount: number;
  /** What was done with the voice and style (from the first message). */
  report?: SynthesisReport;
  /** Word timings of all pieces, from the start of the audio. */
  words: WordTiming[];
  /**
   * The audio data of all messages, concatenated: the whole file for WAV and FLAC (it arrives in
   * the final message), the Ogg/Opus pages for OGG, the PCM of all pieces for RAW.
   */
  audio: Buffer;
  /** Format of `audio`, defaults resolved. */
  format?: OutputAudioFormat;
  durationSeconds: number;
  /** Number of messages. */
  messages: number;
  /** Whether the last message had `final` set. */
  final: boolean;
}

/** Optional fields of CreateVoice. */
export interface CreateVoiceOptions extends CallOptions {
  /** Who consented to cloning the voice, and how. */
  consentNote?: string;
  /** Also store the prompt recording (default: only its tokens and speaker features). */
  keepAudio?: boolean;
}

/** What a whole StreamTokenize call returned, concatenated. */
export interface StreamTokenizeResult {
  requestId: string;
  /** All tokens, in order; `text` is filled only when asked for. */
  tokens: AudioTokens;
  /** Number of response messages. */
  messages: number;
  /** Whether the last message had `final` set. */
  final: boolean;
}

const DEFAULT_TIMEOUT_MS = 60_000;
/** The service of each RPC (for its method config). */
const SERVICE_OF: Record<string, string> = {
  Tokenize: "voxgate.v1.TokenizerService",
  StreamTokenize: "voxgate.v1.TokenizerService",
  Detokenize: "voxgate.v1.TokenizerService",
  GetServerInfo: "voxgate.v1.DiscoveryService",
  Synthesize: "voxgate.v1.SynthesisService",
  StreamSynthesize: "voxgate.v1.SynthesisService",
  CreateVoice: "voxgate.v1.SynthesisService",
  ListVoices: "voxgate.v1.SynthesisService",
  DeleteVoice: "voxgate.v1.SynthesisService",
  Chat: "voxgate.v1.ChatService",
};
const DEFAULT_STREAM_TIMEOUT_MS = 300_000;
const DEFAULT_CHUNK_BYTES = 3840;

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: Res) => void,
) => grpc.ClientUnaryCall;

/**
 * A voxgate client: plaintext by default, TLS (mutual TLS with a client certificate) with `tls`,
 * a bearer token on every call with `token`. Every call has a deadline and fails with a
 * {@link VoxgateError} carrying the gRPC status code name.
 *
 * It follows voxgate's published service config (`serviceConfig()`): the unary calls Tokenize,
 * Detokenize, GetServerInfo and ListVoices are retried on UNAVAILABLE, and every call waits for
 * the server within its deadline (`waitForReady: false` to fail fast). It has two channels: the
 * streaming calls' (no retry buffer, see `channelOptions`; the public stubs use it too) and the
 * unary calls' (grpc-js's retry buffer, 1 MiB per call, so that they can be retried).
 *
 * ```ts
 * const client = new VoxgateClient("127.0.0.1:50051");
 * const res = await client.tokenizeFile("speech.wav");
 * console.log(res.tokens?.interleaved);
 * client.close();
 * ```
 */
export class VoxgateClient {
  /**
   * The generated TokenizerService stub, for calls this class does not wrap. The stubs share the
   * streaming calls' channel (no retry buffer: calls made through them are not retried).
   */
  readonly tokenizer: TokenizerServiceClient;
  /** The generated DiscoveryService stub. */
  readonly discovery: DiscoveryServiceClient;
  /** The generated SynthesisService stub. */
  readonly synthesis: SynthesisServiceClient;
  /** The generated ChatService stub. */
  readonly chatService: ChatServiceClient;
  readonly address: string;
  private readonly timeoutMs: number;
  private readonly streamTimeoutMs: number;
  /** Stubs on the unary calls' channel, which keeps grpc-js's retry buffer. */
  private readonly unaryTokenizer: TokenizerServiceClient;
  private readonly unaryDiscovery: DiscoveryServiceClient;
  private readonly unarySynthesis: SynthesisServiceClient;
  /** The service config in effect (undefined: none). */
  private readonly serviceConfig: ServiceConfig | undefined;

  /** @param address host:port of the server. */
  constructor(address: string, options: VoxgateClientOptions = {}) {
    if (!/^.+:\d+$/.test(address)) throw new TypeError(`address must be host:port, got ${JSON.stringify(address)}`);
    this.address = address;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.streamTimeoutMs = options.streamTimeoutMs ?? DEFAULT_STREAM_TIMEOUT_MS;
    if (options.credentials && options.tls) throw new TypeError("give either credentials or tls, not both");
    const creds = options.tls
      ? tlsCredentials(options.tls)
      : (options.credentials ?? grpc.credentials.createInsecure());
    const config =
      options.serviceConfig === undefined ? serviceConfig(options.waitForReady ?? true) : options.serviceConfig;
    const common: grpc.ClientOptions = { "grpc.max_receive_message_length": -1 };
    if (config) common["grpc.service_config"] = JSON.stringify(config);
    const serverName = options.tls === true ? undefined : options.tls?.serverName;
    if (serverName) common["grpc.ssl_target_name_override"] = serverName;
    // Both channels' stubs (the public ones too) send the token.
    if (options.token !== undefined) common.interceptors = [bearerTokenInterceptor(options.token)];
    const channelOptions: grpc.ClientOptions = {
      ...common,
      // grpc-js keeps every sent message in a retry buffer (1 MiB per call by default) and
      // completes writes before they hit the wire; with many small stream pieces (e.g. 1-byte
      // pieces of a WAV file) the buffer holds tens of thousands of entries and each write costs
      // O(entries) (RetryingCall.clearSentMessages). No retry buffer: writes complete when
      // sent, backpressure works, and streaming stays linear. But then every call is committed
      // at its first message and never retried (not even transparently), so the unary calls,
      // which the service config retries, go over a second channel that keeps the buffer.
      "grpc.per_rpc_retry_buffer_size": 0,
      ...options.channelOptions,
    };
    const unaryOptions: grpc.ClientOptions = { ...common, ...options.channelOptions };
    // grpc-js reads retryPolicy from the service config but not waitForReady, which it takes per
    // call (Metadata options); the calls below set it from the config in effect.
    const effective = channelOptions["grpc.service_config"];
    this.serviceConfig = typeof effective === "string" ? (JSON.parse(effective) as ServiceConfig) : undefined;
    this.unaryTokenizer = new TokenizerServiceClient(address, creds, unaryOptions);
    this.unaryDiscovery = new DiscoveryServiceClient(address, creds, {
      ...unaryOptions,
      channelOverride: this.unaryTokenizer.getChannel(),
    });
    this.unarySynthesis = new SynthesisServiceClient(address, creds, {
      ...unaryOptions,
      channelOverride: this.unaryTokenizer.getChannel(),
    });
    this.tokenizer = new TokenizerServiceClient(address, creds, channelOptions);
    // Share one channel between the stubs.
    this.discovery = new DiscoveryServiceClient(address, creds, {
      ...channelOptions,
      channelOverride: this.tokenizer.getChannel(),
    });
    this.synthesis = new SynthesisServiceClient(address, creds, {
      ...channelOptions,
      channelOverride: this.tokenizer.getChannel(),
    });
    this.chatService = new ChatServiceClient(address, creds, {
      ...channelOptions,
      channelOverride: this.tokenizer.getChannel(),
    });
  }

  /** Waits until both channels are connected, up to `timeoutMs`. */
  async waitForReady(timeoutMs: number = this.timeoutMs): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await Promise.all(
      [this.tokenizer, this.unaryTokenizer].map(
        (stub) => new Promise<void>((resolve, reject) => stub.waitForReady(deadline, (err) => (err ? reject(err) : resolve()))),
      ),
    );
  }

  /** Closes the channels. Calls in flight are cancelled. */
  close(): void {
    this.tokenizer.close();
    this.unaryTokenizer.close();
  }

  /** Describes the server: models, token format, limits. */
  getServerInfo(options: CallOptions = {}): Promise<GetServerInfoResponse> {
    return this.unary("GetServerInfo", this.unaryDiscovery, this.unaryDiscovery.getServerInfo, {}, options);
  }

  /** Tokenizes one recording: a whole audio file's bytes, or raw PCM. */
  tokenize(audio: AudioSource, options: TokenizeOptions = {}): Promise<TokenizeResponse> {
    const input: AudioInput =
      audio instanceof Uint8Array
        ? { source: { $case: "container", container: asBuffer(audio) } }
        : { source: { $case: "raw", raw: { format: audio.raw.format, data: asBuffer(audio.raw.data) } } };
    return this.unary(
      "Tokenize",
      this.unaryTokenizer,
      this.unaryTokenizer.tokenize,
      { audio: input, includeText: options.includeText ?? false },
      options,
    );
  }

  /** Reads an audio file (WAV, FLAC, OGG, MP3) and tokenizes it. */
  async tokenizeFile(path: string, options: TokenizeOptions = {}): Promise<TokenizeResponse> {
    return this.tokenize(await readFile(path), options);
  }

  /** Turns tokens back into audio (by default a 16-bit WAV file at the model's native rate). */
  detokenize(tokens: TokenInput, options: DetokenizeOptions = {}): Promise<DetokenizeResponse> {
    let t: DetokenizeRequest["tokens"];
    if (typeof tokens === "string") t = { $case: "text", text: tokens };
    else if (Array.isArray(tokens) || tokens instanceof Int32Array)
      t = { $case: "interleaved", interleaved: { ids: Array.from(tokens as ArrayLike<number>) } };
    else {
      const s = tokens as { linguistic: readonly number[]; semantic: readonly number[] };
      t = { $case: "streams", streams: { linguistic: [...s.linguistic], semantic: [...s.semantic] } };
    }
    const req: DetokenizeRequest = { tokens: t };
    if (options.outputFormat) {
      req.outputFormat = {
        container: options.outputFormat.container ?? AudioContainer.AUDIO_CONTAINER_UNSPECIFIED,
        encoding: options.outputFormat.encoding ?? 0,
        sampleRateHz: options.outputFormat.sampleRateHz ?? 0,
      };
    }
    return this.unary("Detokenize", this.unaryTokenizer, this.unaryTokenizer.detokenize, req, options);
  }

  /** Detokenizes and writes the audio to `path`. Returns the response (audio data included). */
  async detokenizeToFile(tokens: TokenInput, path: string, options: DetokenizeOptions = {}): Promise<DetokenizeResponse> {
    const res = await this.detokenize(tokens, options);
    await writeFile(path, res.audio?.data ?? Buffer.alloc(0));
    return res;
  }

  /**
   * Tokenizes live audio: sends the config, then each piece of `pieces` as it comes (with
   * backpressure), half-closes, and yields the server's per-group responses until the final one.
   * Breaking out of the loop cancels the call.
   */
  async *streamTokenize(
    pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options: StreamTokenizeOptions = {},
  ): AsyncGenerator<StreamTokenizeResponse, void, undefined> {
    const requests = async function* (): AsyncGenerator<StreamTokenizeRequest, void, undefined> {
      yield {
        message: {
          $case: "config",
          config: {
            format: options.format ?? { container: AudioContainer.AUDIO_CONTAINER_WAV },
            includeText: options.includeText ?? false,
          },
        },
      };
      for await (const piece of pieces) {
        if (piece.byteLength === 0) continue;
        yield { message: { $case: "audio", audio: asBuffer(piece) } };
      }
    };
    yield* this.duplex(
      "StreamTokenize",
      (md, opts) => this.tokenizer.streamTokenize(md, opts),
      requests(),
      options,
      this.streamTimeoutMs,
    );
  }

  /** Streams a file in `chunkBytes` pieces (as live audio would arrive) through StreamTokenize. */
  streamTokenizeFile(path: string, options: StreamTokenizeFileOptions = {}): AsyncGenerator<StreamTokenizeResponse, void, undefined> {
    return this.streamTokenize(readChunks(path, options.chunkBytes ?? DEFAULT_CHUNK_BYTES), options);
  }

  /**
   * Synthesizes speech (server streaming) and yields the pieces as they arrive; the last one has
   * `final` set. With the default WAV container the whole file is in the final message
   * (`collectSynthesis(...).audio`); RAW and OGG audio come piece by piece. Breaking out of the loop
   * cancels the call. The deadline is the stream deadline (`streamTimeoutMs`).
   */
  async *synthesize(text: string, options: SynthesizeOptions = {}): AsyncGenerator<SynthesizeResponse, void, undefined> {
    const rpc = "Synthesize";
    if (options.signal?.aborted) throw new VoxgateError(rpc, grpc.status.CANCELLED, "aborted by the caller");
    const call = this.synthesis.synthesize(synthesizeRequest(text, options), this.metadata(rpc, options), {
      deadline: Date.now() + (options.timeoutMs ?? this.streamTimeoutMs),
    });
    const onAbort = () => call.cancel();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for await (const msg of call as AsyncIterable<SynthesizeResponse>) yield msg;
    } catch (err) {
      throw toVoxgateError(rpc, err);
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
      call.cancel(); // no-op once the call has finished
    }
  }

  /**
   * Synthesizes text that arrives piece by piece (e.g. from an LLM) on one StreamSynthesize call:
   * the config (voice, prompt, style, format) first, then each string of `texts` as it comes (with
   * backpressure), then the end of input. Yields the pieces (as Synthesize sends them) as soon as
   * each clause is spoken; the tokens equal Synthesize's for the joined text. Breaking out of
   * the loop cancels the call.
   */
  async *streamSynthesize(
    texts: AsyncIterable<string> | Iterable<string>,
    options: SynthesizeOptions = {},
  ): AsyncGenerator<SynthesizeResponse, void, undefined> {
    const requests = async function* (): AsyncGenerator<StreamSynthesizeRequest, void, undefined> {
      yield { message: { $case: "config", config: { request: synthesizeRequest("", options) } } };
      for await (const text of texts) {
        if (text.length === 0) continue;
        yield { message: { $case: "text", text } };
      }
    };
    const responses = this.duplex<StreamSynthesizeRequest, StreamSynthesizeResponse>(
      "StreamSynthesize",
      (md, opts) => this.synthesis.streamSynthesize(md, opts),
      requests(),
      options,
      this.streamTimeoutMs,
    );
    for await (const msg of responses) {
      if (msg.piece) yield msg.piece;
    }
  }

  /**
   * Synthesizes into a WAV file at `path` (the container is always WAV; encoding and rate may be
   * set in `outputFormat`) and returns the combined answer.
   */
  async synthesizeToFile(text: string, path: string, options: SynthesizeOptions = {}): Promise<SynthesisResult> {
    const outputFormat = { ...options.outputFormat, container: AudioContainer.AUDIO_CONTAINER_WAV };
    const res = await collectSynthesis(this.synthesize(text, { ...options, outputFormat }));
    await writeFile(path, res.audio);
    return res;
  }

  /**
   * Registers a cloned voice from a prompt recording (WAV, FLAC, OGG or MP3 bytes) and what it
   * says; pass the returned voice's `id` as `voice`.
   */
  async createVoice(
    name: string,
    prompt: Uint8Array,
    transcript: string,
    options: CreateVoiceOptions = {},
  ): Promise<Voice> {
    const res = await this.unary(
      "CreateVoice",
      this.unarySynthesis,
      this.unarySynthesis.createVoice,
      {
        name,
        prompt: { audio: { source: { $case: "container", container: asBuffer(prompt) } }, transcript },
        consentNote: options.consentNote ?? "",
        keepAudio: options.keepAudio ?? false,
      },
      options,
    );
    if (!res.voice) throw new Error("CreateVoice: the response has no voice");
    return res.voice;
  }

  /** The built-in voices, then the registered ones by creation time. */
  async listVoices(options: CallOptions = {}): Promise<Voice[]> {
    return (await this.unary("ListVoices", this.unarySynthesis, this.unarySynthesis.listVoices, {}, options)).voices;
  }

  /** Deletes a registered voice (NOT_FOUND: no such voice; FAILED_PRECONDITION: a built-in one). */
  async deleteVoice(voiceId: string, options: CallOptions = {}): Promise<void> {
    await this.unary("DeleteVoice", this.unarySynthesis, this.unarySynthesis.deleteVoice, { voiceId }, options);
  }

  /**
   * Opens a conversation (ChatService.Chat) and sends its config. The session sends user input
   * and controls, and is an async iterator of the server's messages; `session.turn(...)` sends a
   * whole user turn and resolves to the reply. The deadline (`timeoutMs`, default
   * `streamTimeoutMs`) bounds the whole conversation; `signal` cancels it.
   *
   * ```ts
   * const chat = client.chat({ maxReplyTokens: 64, outputFormat: { container: AudioContainer.AUDIO_CONTAINER_WAV } });
   * const reply = await chat.turn("What is the capital of France?");
   * console.log(reply.text); // reply.audio: the WAV file
   * await chat.finish();
   * ```
   */
  chat(options: ChatOptions = {}): ChatSession {
    if (options.signal?.aborted) throw new VoxgateError("Chat", grpc.status.CANCELLED, "aborted by the caller");
    const call = this.chatService.chat(this.metadata("Chat", options), {
      deadline: Date.now() + (options.timeoutMs ?? this.streamTimeoutMs),
    });
    return new ChatSession(call, chatConfig(options), options.signal);
  }

  /**
   * A bidirectional call: sends `requests` (config first) with backpressure, half-closes, and
   * yields the responses. Breaking out of the loop cancels the call; a failure of `requests`
   * cancels it and is rethrown.
   */
  private async *duplex<Req, Res>(
    rpc: string,
    open: (md: grpc.Metadata, options: Partial<grpc.CallOptions>) => grpc.ClientDuplexStream<Req, Res>,
    requests: AsyncIterable<Req>,
    options: CallOptions,
    defaultTimeoutMs: number,
  ): AsyncGenerator<Res, void, undefined> {
    if (options.signal?.aborted) throw new VoxgateError(rpc, grpc.status.CANCELLED, "aborted by the caller");
    const call = open(this.metadata(rpc, options), { deadline: Date.now() + (options.timeoutMs ?? defaultTimeoutMs) });
    const onAbort = () => call.cancel();
    options.signal?.addEventListener("abort", onAbort, { once: true });

    let ended = false;
    for (const ev of ["status", "error", "close"]) call.once(ev, () => (ended = true));
    const canWrite = () => !ended && !call.destroyed && !call.writableEnded;
    let writeError: { error: unknown } | undefined;
    const writer = (async () => {
      for await (const msg of requests) {
        if (!canWrite()) return;
        if (!call.write(msg)) await writable(call);
      }
      if (canWrite()) call.end();
    })();
    writer.catch((error: unknown) => {
      writeError = { error };
      call.cancel();
    });

    try {
      for await (const msg of call as AsyncIterable<Res>) yield msg;
    } catch (err) {
      if (writeError) throw writeError.error;
      throw toVoxgateError(rpc, err);
    } finally {
      ended = true;
      options.signal?.removeEventListener("abort", onAbort);
      call.cancel(); // no-op once the call has finished
    }
    await writer.catch(() => undefined);
    if (writeError) throw writeError.error;
  }

  /** The call's metadata: x-request-id, and wait-for-ready as the service config says for `rpc`. */
  private metadata(rpc: string, options: CallOptions): grpc.Metadata {
    const waitForReady = methodConfigFor(this.serviceConfig, SERVICE_OF[rpc], rpc)?.waitForReady ?? false;
    const md = new grpc.Metadata({ waitForReady });
    if (options.requestId) md.set("x-request-id", options.requestId);
    return md;
  }

  private unary<Req, Res>(
    rpc: string,
    stub: grpc.Client,
    method: UnaryMethod<Req, Res>,
    request: Req,
    options: CallOptions,
  ): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      const signal = options.signal;
      if (signal?.aborted) {
        reject(new VoxgateError(rpc, grpc.status.CANCELLED, "aborted by the caller"));
        return;
      }
      const onAbort = () => call.cancel();
      const call = method.call(
        stub,
        request,
        this.metadata(rpc, options),
        { deadline: Date.now() + (options.timeoutMs ?? this.timeoutMs) },
        (err, res) => {
          signal?.removeEventListener("abort", onAbort);
          if (err) reject(toVoxgateError(rpc, err));
          else resolve(res);
        },
      );
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}

/** Concatenates the responses of a StreamTokenize call. */
export async function collectStreamTokens(
  responses: AsyncIterable<StreamTokenizeResponse>,
): Promise<StreamTokenizeResult> {
  const tokens: AudioTokens = { linguistic: [], semantic: [], interleaved: [], text: "", groupCount: 0 };
  let requestId = "";
  let messages = 0;
  let final = false;
  for await (const r of responses) {
    messages++;
    requestId = r.requestId;
    final = r.final;
    const t = r.tokens;
    if (!t) continue;
    tokens.linguistic.push(...t.linguistic);
    tokens.semantic.push(...t.semantic);
    tokens.interleaved.push(...t.interleaved);
    tokens.text += t.text;
    tokens.groupCount += t.groupCount;
  }
  return { requestId, tokens, messages, final };
}

/** Combines the pieces of a Synthesize or StreamSynthesize call. */
export async function collectSynthesis(
  responses: AsyncIterable<SynthesizeResponse> | Iterable<SynthesizeResponse>,
): Promise<SynthesisResult> {
  const res: SynthesisResult = {
    requestId: "",
    tokens: [],
    groupCount: 0,
    words: [],
    audio: Buffer.alloc(0),
    durationSeconds: 0,
    messages: 0,
    final: false,
  };
  const data: Buffer[] = [];
  for await (const r of responses) {
    res.messages++;
    if (!res.requestId) res.requestId = r.requestId;
    if (!res.report && r.report) res.report = r.report;
    res.tokens.push(...r.audioTokens);
    res.words.push(...r.words);
    res.final = r.final;
    const a = r.audio;
    if (a?.format) res.format = a.format;
    if (a && a.data.length > 0) data.push(Buffer.from(a.data));
    if (r.final) res.durationSeconds = r.startSeconds;
  }
  res.audio = Buffer.concat(data);
  res.groupCount = Math.floor(res.tokens.length / 5);
  return res;
}

function synthesizeRequest(text: string, options: SynthesizeOptions): SynthesizeRequest {
  const req: SynthesizeRequest = {
    text,
    voice: options.voice ?? "",
    styleInstruction: options.styleInstruction ?? "",
  };
  if (options.prompt) req.prompt = options.prompt;
  if (options.style) {
    req.style = {
      speed: options.style.speed ?? 0,
      pitchSemitones: options.style.pitchSemitones ?? 0,
      volumeDb: options.style.volumeDb ?? 0,
      emotion: options.style.emotion ?? "",
      dialect: options.style.dialect ?? "",
    };
  }
  if (options.outputFormat) {
    req.outputFormat = {
      container: options.outputFormat.container ?? AudioContainer.AUDIO_CONTAINER_UNSPECIFIED,
      encoding: options.outputFormat.encoding ?? 0,
      sampleRateHz: options.outputFormat.sampleRateHz ?? 0,
    };
  }
  return req;
}

/** Reads a file in pieces of exactly `chunkBytes` (the last may be shorter). */
export async function* readChunks(path: string, chunkBytes: number): AsyncGenerator<Buffer, void, undefined> {
  if (!Number.isInteger(chunkBytes) || chunkBytes <= 0) throw new RangeError("chunkBytes must be a positive integer");
  const fh = await open(path, "r");
  try {
    const block = Buffer.alloc(Math.max(chunkBytes, 65536));
    let pending = Buffer.alloc(0);
    for (;;) {
      const { bytesRead } = await fh.read(block, 0, block.length, null);
      if (bytesRead === 0) break;
      let data = Buffer.concat([pending, block.subarray(0, bytesRead)]);
      let off = 0;
      while (data.length - off >= chunkBytes) {
        yield Buffer.from(data.subarray(off, off + chunkBytes)); // a copy: `block` is reused
        off += chunkBytes;
      }
      pending = Buffer.from(data.subarray(off));
      data = Buffer.alloc(0);
    }
    if (pending.length > 0) yield pending;
  } finally {
    await fh.close();
  }
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Resolves when the stream can take more writes, or has ended (then writes are skipped). */
function writable<Req, Res>(call: grpc.ClientDuplexStream<Req, Res>): Promise<void> {
  return new Promise((resolve) => {
    const events = ["drain", "status", "error", "close"] as const;
    const done = () => {
      for (const ev of events) call.off(ev, done);
      resolve();
    };
    for (const ev of events) call.on(ev, done);
  });
}

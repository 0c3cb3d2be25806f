export {
  VoxgateClient,
  bearerTokenInterceptor,
  collectStreamTokens,
  collectSynthesis,
  readChunks,
  tlsCredentials,
  type AudioSource,
  type CallOptions,
  type CreateVoiceOptions,
  type DetokenizeOptions,
  type RawPcm,
  type StreamTokenizeFileOptions,
  type StreamTokenizeOptions,
  type StreamTokenizeResult,
  type SynthesisResult,
  type SynthesizeOptions,
  type TokenInput,
  type TlsOptions,
  type TokenizeOptions,
  type VoxgateClientOptions,
} from "./client";
export {
  ChatSession,
  DEFAULT_CHAT_CHUNK_BYTES,
  chatConfig,
  collectChatReply,
  type ChatOptions,
  type ChatReply,
  type TurnInput,
} from "./chat";
export { VoxgateError, statusCodeName, toVoxgateError, type StatusCodeName } from "./errors";
export {
  methodConfigFor,
  serviceConfig,
  type MethodConfig,
  type MethodName,
  type ServiceConfig,
} from "./service-config";
export { readWavInfo, type WavInfo } from "./wav";
export { status as Status } from "@grpc/grpc-js";
export {
  AudioContainer,
  PcmEncoding,
  type AudioInput,
  type AudioOutput,
  type OutputAudioFormat,
  type RawAudio,
  type RawAudioFormat,
  type StreamAudioFormat,
} from "./gen/voxgate/v1/audio";
export type { AudioTokens } from "./gen/voxgate/v1/tokens";
export type {
  DetokenizeRequest,
  DetokenizeResponse,
  StreamTokenizeRequest,
  StreamTokenizeResponse,
  TokenizeRequest,
  TokenizeResponse,
} from "./gen/voxgate/v1/tokenizer";
export type {
  CreateVoiceRequest,
  SpeechStyle,
  StreamSynthesizeRequest,
  StreamSynthesizeResponse,
  SynthesisReport,
  SynthesizeRequest,
  SynthesizeResponse,
  Voice,
  VoicePrompt,
  WordTiming,
} from "./gen/voxgate/v1/synthesis";
export { TurnDetectionMode } from "./gen/voxgate/v1/chat";
export type {
  ChatConfig,
  ChatRequest,
  ChatResponse,
  Interrupt,
  Playback,
  SpeechStarted,
  SpeechStopped,
  Transcript,
  TurnDetection,
  TurnEnd,
  TurnLatency,
  UserInput,
} from "./gen/voxgate/v1/chat";
export type {
  GetServerInfoResponse,
  Limits,
  ModelInfo,
  TokenSpec,
  TokenStreamSpec,
} from "./gen/voxgate/v1/discovery";

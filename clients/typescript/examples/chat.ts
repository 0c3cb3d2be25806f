// voxgate example: one turn of a spoken conversation. Sends a WAV file as the user's spoken turn
// (or typed text), prints what the server heard and the reply, and saves the spoken reply.
//
//   node dist/examples/chat.js --addr 127.0.0.1:50051 --audio question.wav --out reply.wav
//   node dist/examples/chat.js --text "Hello, who are you?" --out reply.wav
//   node dist/examples/chat.js --text "Hello" --max-tokens 24 --temperature 0    # no --out: text only
//
// The WAV file is sent in pieces (--chunk-bytes, default 32 KiB) as container WAV with MANUAL turn
// detection, then the end of the turn. The reply is asked for as WAV, which arrives whole in the
// reply's last audio message.
// TLS and a bearer token: --tls-ca, --tls-cert/--tls-key, --token-file or $VOXGATE_TLS_CA, ... (connection.ts).
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";

import { AudioContainer, readChunks, TurnDetectionMode, VoxgateClient, VoxgateError, type ChatOptions } from "../src";
import { connection, connectionArgs, connectionUsage } from "./connection";

const usage = `usage: chat [--addr HOST:PORT] (--audio QUESTION.wav | --text TEXT) [--out REPLY.wav]
            [--system PROMPT] [--voice V] [--max-tokens N] [--temperature T] [--chunk-bytes N]
            [--timeout-ms MS]

  --audio        a WAV file sent as the user's spoken turn (with --text: typed text first)
  --text         text sent as the user's turn
  --out          WAV file for the spoken reply (without it the reply is text only)
  --system       system prompt (default: the model's)
  --voice        voice of the reply (default: the server's)
  --max-tokens   most tokens in the reply (default: the server's)
  --temperature  sampling temperature, 0 = greedy (default: the model's)
  --chunk-bytes  size of the audio pieces sent (default 32768)
  --timeout-ms   deadline of the conversation (default 120000)
${connectionUsage}`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: {
      ...connectionArgs,
      audio: { type: "string" },
      text: { type: "string" },
      out: { type: "string" },
      system: { type: "string" },
      voice: { type: "string" },
      "max-tokens": { type: "string" },
      temperature: { type: "string" },
      "chunk-bytes": { type: "string", default: "32768" },
      "timeout-ms": { type: "string", default: "120000" },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: true,
  });
  const { address: addr, options: connectionOptions } = connection(values);
  if (values.help || !addr || positionals.length !== 0 || (values.audio === undefined && values.text === undefined)) {
    console.error(usage);
    return values.help ? 0 : 2;
  }
  const options: ChatOptions = {
    systemPrompt: values.system,
    voice: values.voice,
    textOnly: values.out === undefined,
    outputFormat: { container: AudioContainer.AUDIO_CONTAINER_WAV },
    turnDetection: { mode: TurnDetectionMode.TURN_DETECTION_MODE_MANUAL },
    maxReplyTokens: values["max-tokens"] === undefined ? undefined : Number(values["max-tokens"]),
    temperature: values.temperature === undefined ? undefined : Number(values.temperature),
    timeoutMs: Number(values["timeout-ms"]),
  };
  if (values.audio !== undefined) options.inputFormat = { container: AudioContainer.AUDIO_CONTAINER_WAV };

  const client = new VoxgateClient(addr, { ...connectionOptions, waitForReady: false }); // fails at once when the server is down
  const chat = client.chat(options);
  const started = Date.now();
  try {
    const reply = await chat.turn({
      text: values.text,
      audio: values.audio === undefined ? undefined : readChunks(values.audio, Number(values["chunk-bytes"])),
    });
    await chat.finish(); // half-close and read the end of the call
    const end = reply.turnEnd;
    console.log(`user: ${end.userTranscript}`);
    console.log(`assistant: ${end.text}`);
    if (values.out !== undefined) {
      if (reply.audio.length === 0) throw new Error("the reply has no audio");
      await writeFile(values.out, reply.audio);
      console.error(`wrote ${values.out}: ${end.audioSeconds.toFixed(2)} s at ${reply.format?.sampleRateHz ?? 0} Hz`);
    }
    const lat = end.latency;
    console.error(
      `${end.replyTokens} reply tokens in ${Date.now() - started} ms; after the end of the turn: ` +
        `transcript ${lat?.transcriptMs ?? 0} ms, first text ${lat?.firstTextMs ?? 0} ms, first audio ${lat?.firstAudioMs ?? 0} ms`,
    );
    return 0;
  } catch (err) {
    if (err instanceof VoxgateError) {
      console.error(`error: ${err.codeName}: ${err.details}`);
      return 1;
    }
    throw err;
  } finally {
    chat.cancel(); // no-op once it has ended
    client.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);

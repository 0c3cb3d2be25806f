// voxgate example: tokenize a WAV file and print the interleaved Step-Audio ids; optionally
// detokenize them back to a WAV file.
//
//   node dist/examples/tokenize.js --addr 127.0.0.1:50051 speech.wav
//   node dist/examples/tokenize.js --addr 127.0.0.1:50051 --stream --chunk-bytes 4096 speech.wav
//   node dist/examples/tokenize.js --addr 127.0.0.1:50051 --out roundtrip.wav speech.wav
//   node dist/examples/tokenize.js --addr 127.0.0.1:50051 --detokenize "12 7 1030 2000 1100" --out out.wav
//   node dist/examples/tokenize.js --addr 127.0.0.1:50051 --info
//   VOXGATE_TLS_CA=ca.pem VOXGATE_TOKEN=... node dist/examples/tokenize.js --addr HOST:443 --info   # TLS, a token
import { parseArgs } from "node:util";

import { collectStreamTokens, readWavInfo, VoxgateClient, VoxgateError } from "../src";
import { connection, connectionArgs, connectionUsage } from "./connection";
import { GetServerInfoResponse } from "../src/gen/voxgate/v1/discovery";

const usage = `usage: tokenize [--addr HOST:PORT] [--timeout-ms MS] [--text] [--stream [--chunk-bytes N]]
                [--out OUT.wav] INPUT_AUDIO
       tokenize [--addr HOST:PORT] --detokenize "ID ID ..." --out OUT.wav
       tokenize [--addr HOST:PORT] --info

  --timeout-ms   deadline of each call (default 60000)
  --text         also print the "<audio_N>" text form
  --stream       send the file through StreamTokenize in pieces, as live audio
  --chunk-bytes  piece size for --stream (default 3840)
  --out          detokenize the ids back to this WAV file
  --detokenize   ids to detokenize (space or comma separated), instead of tokenizing a file
  --info         print the server's info (models, token format, limits) as JSON
${connectionUsage}`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: {
      ...connectionArgs,
      "timeout-ms": { type: "string" },
      text: { type: "boolean", default: false },
      stream: { type: "boolean", default: false },
      "chunk-bytes": { type: "string" },
      out: { type: "string" },
      detokenize: { type: "string" },
      info: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: true,
  });
  const { address: addr, options: connectionOptions } = connection(values);
  const modes = [values.info, values.detokenize !== undefined, positionals.length > 0].filter(Boolean).length;
  if (values.help || !addr || modes !== 1 || positionals.length > 1 || (values.detokenize !== undefined && !values.out)) {
    console.error(usage);
    return values.help ? 0 : 2;
  }
  const timeoutMs = values["timeout-ms"] ? Number(values["timeout-ms"]) : 60_000;
  const client = new VoxgateClient(addr, {
    ...connectionOptions,
    timeoutMs,
    streamTimeoutMs: Math.max(timeoutMs, 300_000),
    waitForReady: false, // a command line fails at once when the server is down
  });
  try {
    if (values.info) {
      console.log(JSON.stringify(GetServerInfoResponse.toJSON(await client.getServerInfo()), null, 2));
      return 0;
    }
    let ids: number[];
    if (values.detokenize !== undefined) {
      ids = values.detokenize
        .split(/[\s,]+/)
        .filter((s) => s.length > 0)
        .map(Number);
    } else {
      const input = positionals[0];
      let tokens;
      if (values.stream) {
        const chunkBytes = values["chunk-bytes"] ? Number(values["chunk-bytes"]) : 3840;
        const res = await collectStreamTokens(client.streamTokenizeFile(input, { chunkBytes, includeText: values.text }));
        tokens = res.tokens;
        console.error(`${res.messages} stream messages, ${tokens.groupCount} groups, request ${res.requestId}`);
      } else {
        const res = await client.tokenizeFile(input, { includeText: values.text });
        tokens = res.tokens;
        console.error(
          `${tokens?.groupCount ?? 0} groups, ${res.audioDurationSeconds.toFixed(3)} s of audio, request ${res.requestId}`,
        );
      }
      ids = tokens?.interleaved ?? [];
      console.log(ids.join(" "));
      if (values.text) console.log(tokens?.text ?? "");
    }
    if (values.out) {
      const res = await client.detokenizeToFile(ids, values.out);
      const wav = readWavInfo(res.audio?.data ?? Buffer.alloc(0));
      console.error(
        `wrote ${values.out}: ${res.groupCount} groups, ${wav.numSamples} samples at ${wav.sampleRateHz} Hz ` +
          `(${wav.durationSeconds.toFixed(3)} s)`,
      );
    }
    return 0;
  } catch (err) {
    if (err instanceof VoxgateError) {
      console.error(`error: ${err.codeName}: ${err.details}`);
      return 1;
    }
    throw err;
  } finally {
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

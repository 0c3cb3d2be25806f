// voxgate example: speak text into a WAV file.
//
//   node dist/examples/synthesize.js --addr 127.0.0.1:50051 --out hello.wav "Hello there, this is voxgate."
//   node dist/examples/synthesize.js --style "speak slowly" --voice joe --out slow.wav "Take your time."
//   node dist/examples/synthesize.js --stream --out live.wav "Text sent word by word, as an LLM would."
//   node dist/examples/synthesize.js --voices
// TLS and a bearer token: --tls-ca, --tls-cert/--tls-key, --token-file or $VOXGATE_TLS_CA, ... (connection.ts).
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";

import { AudioContainer, collectSynthesis, VoxgateClient, VoxgateError, type SynthesisResult } from "../src";
import { connection, connectionArgs, connectionUsage } from "./connection";

const usage = `usage: synthesize [--addr HOST:PORT] [--timeout-ms MS] [--voice V] [--style S] [--stream]
                  [--out OUT.wav] TEXT
       synthesize [--addr HOST:PORT] --voices

  --timeout-ms   deadline of the call (default 300000)
  --voice        a built-in voice or a registered voice's id (default: the server's)
  --style        style instruction, e.g. "speak slowly", "(高兴1)(慢速1)"
  --stream       send the text word by word through StreamSynthesize, as an LLM would
  --out          WAV file to write (default out.wav)
  --voices       list the voices
${connectionUsage}`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: {
      ...connectionArgs,
      "timeout-ms": { type: "string" },
      voice: { type: "string" },
      style: { type: "string" },
      stream: { type: "boolean", default: false },
      out: { type: "string", default: "out.wav" },
      voices: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: true,
  });
  const { address: addr, options: connectionOptions } = connection(values);
  if (values.help || !addr || (values.voices ? positionals.length !== 0 : positionals.length !== 1)) {
    console.error(usage);
    return values.help ? 0 : 2;
  }
  const timeoutMs = values["timeout-ms"] ? Number(values["timeout-ms"]) : 300_000;
  const client = new VoxgateClient(addr, {
    ...connectionOptions,
    timeoutMs,
    streamTimeoutMs: timeoutMs,
    waitForReady: false, // a command line fails at once when the server is down
  });
  try {
    if (values.voices) {
      for (const v of await client.listVoices()) {
        console.log(`${v.id}\t${v.name}\t${v.builtin ? "built-in" : `${v.promptSeconds.toFixed(1)} s prompt`}`);
      }
      return 0;
    }
    const text = positionals[0];
    const options = { voice: values.voice, styleInstruction: values.style };
    const started = Date.now();
    let res: SynthesisResult;
    if (values.stream) {
      // Text as it would arrive from an LLM: word by word, each piece sent as soon as it exists.
      const words = async function* () {
        for (const word of text.split(/(?<= )/)) yield word;
      };
      const outputFormat = { container: AudioContainer.AUDIO_CONTAINER_WAV };
      res = await collectSynthesis(client.streamSynthesize(words(), { ...options, outputFormat }));
      await writeFile(values.out, res.audio);
    } else {
      res = await client.synthesizeToFile(text, values.out, options);
    }
    console.error(
      `wrote ${values.out}: ${res.durationSeconds.toFixed(2)} s at ${res.format?.sampleRateHz ?? 0} Hz, ` +
        `${res.groupCount} groups in ${res.messages} messages, voice ${res.report?.voice ?? "?"} ` +
        `(${Date.now() - started} ms)`,
    );
    for (const item of res.report?.notApplied ?? []) console.error(`  not applied: ${item}`);
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

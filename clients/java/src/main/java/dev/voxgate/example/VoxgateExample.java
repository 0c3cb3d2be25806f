package dev.voxgate.example;

import dev.voxgate.StreamResult;
import dev.voxgate.SynthesisResult;
import dev.voxgate.VoxgateClient;
import dev.voxgate.VoxgateException;
import dev.voxgate.v1.AudioTokens;
import dev.voxgate.v1.DetokenizeResponse;
import dev.voxgate.v1.AudioContainer;
import dev.voxgate.v1.GetServerInfoResponse;
import dev.voxgate.v1.OutputAudioFormat;
import dev.voxgate.v1.SynthesizeRequest;
import dev.voxgate.v1.TokenizeResponse;
import dev.voxgate.v1.Voice;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Collectors;

/**
 * Command-line example of the voxgate Java client.
 *
 * <pre>
 * VoxgateExample [--addr HOST:PORT] [--timeout SECONDS] COMMAND ...
 *   info                              print the server's token format and limits
 *   tokenize IN.wav [--text]          print the interleaved ids (and the text form)
 *   stream IN.wav [--chunk BYTES]     the same through StreamTokenize, as live audio
 *   detokenize OUT.wav [IDS.txt|-]    ids (whitespace/comma separated) to a WAV file
 *   roundtrip IN.wav OUT.wav          tokenize, then detokenize back to a WAV file
 *   synthesize "TEXT" OUT.wav [--voice V] [--style S] [--stream]
 *                                     speak text into a WAV file (--stream: word by word
 *                                     through StreamSynthesize)
 *   voices                            list the voices
 *   chat (--audio Q.wav | --text TEXT) [--out REPLY.wav] [--max-tokens N] [--temperature T] ...
 *                                     one conversation turn ({@link ChatExample})
 * </pre>
 *
 * <p>The address defaults to $VOXGATE_ADDR, else 127.0.0.1:50051. TLS: {@code --tls} (the
 * system's CAs), {@code --tls-ca CA.pem}, {@code --tls-cert C.pem --tls-key C.key} (mutual TLS),
 * {@code --tls-server-name NAME}, or $VOXGATE_TLS=1, $VOXGATE_TLS_CA, $VOXGATE_TLS_CERT,
 * $VOXGATE_TLS_KEY; a bearer token: {@code --token-file FILE} or $VOXGATE_TOKEN (see {@link
 * ConnectionOptions}).
 */
public final class VoxgateExample {
  /** Kept referenced so that the level sticks: grpc-java logs INFO lines at startup. */
  private static final Logger GRPC_LOGGER = Logger.getLogger("io.grpc");

  private VoxgateExample() {}

  public static void main(String[] argv) {
    GRPC_LOGGER.setLevel(Level.WARNING);
    try {
      System.exit(run(argv));
    } catch (VoxgateException e) {
      System.err.println("voxgate error " + e.getCodeName() + ": " + e.getStatusMessage());
      System.exit(1);
    } catch (IOException | UncheckedIOException e) {
      System.err.println("error: " + e.getMessage());
      System.exit(1);
    } catch (IllegalArgumentException e) {
      System.err.println("usage error: " + e.getMessage());
      System.exit(2);
    }
  }

  static int run(String[] argv) throws IOException {
    return run(argv, System.getenv());
  }

  /** {@link #run(String[])} with {@code env} in place of the process environment. */
  static int run(String[] argv, Map<String, String> env) throws IOException {
    // "chat" has flags of its own: hand the whole command line (less the word) to ChatExample.
    for (int i = 0; i < argv.length; i++) {
      if (ConnectionOptions.FLAGS_WITH_VALUE.contains(argv[i]) || argv[i].equals("--timeout")) {
        i++;
        continue;
      }
      if (argv[i].equals("--tls")) {
        continue;
      }
      if (argv[i].equals("chat")) {
        List<String> rest = new ArrayList<>(Arrays.asList(argv));
        rest.remove(i);
        return ChatExample.run(rest.toArray(new String[0]), env);
      }
      break;
    }
    ConnectionOptions conn = new ConnectionOptions(env);
    Duration timeout = VoxgateClient.DEFAULT_TIMEOUT;
    boolean text = false;
    boolean stream = false;
    String voice = "";
    String style = "";
    int chunk = VoxgateClient.DEFAULT_CHUNK_BYTES;
    List<String> args = new ArrayList<>();
    for (int i = 0; i < argv.length; i++) {
      int last = conn.parse(argv, i);
      if (last >= 0) {
        i = last;
        continue;
      }
      switch (argv[i]) {
        case "--timeout":
          timeout = Duration.ofMillis((long) (Double.parseDouble(value(argv, ++i, "--timeout")) * 1000));
          break;
        case "--chunk":
          chunk = Integer.parseInt(value(argv, ++i, "--chunk"));
          break;
        case "--text":
          text = true;
          break;
        case "--stream":
          stream = true;
          break;
        case "--voice":
          voice = value(argv, ++i, "--voice");
          break;
        case "--style":
          style = value(argv, ++i, "--style");
          break;
        case "-h":
        case "--help":
          usage();
          return 0;
        default:
          args.add(argv[i]);
      }
    }
    if (args.isEmpty()) {
      usage();
      return 2;
    }
    String command = args.get(0);
    // waitForReady(false): a command line fails at once (UNAVAILABLE) when the server is down.
    try (VoxgateClient client =
        conn.builder()
            .timeout(timeout)
            .streamTimeout(timeout.multipliedBy(4))
            .waitForReady(false)
            .build()) {
      switch (command) {
        case "info": {
          need(args, 1);
          GetServerInfoResponse info = client.getServerInfo();
          System.out.println("version " + info.getVersion() + ", profile " + info.getProfile());
          System.out.print(info.getTokenSpec());
          System.out.print(info.getLimits());
          return 0;
        }
        case "tokenize": {
          need(args, 2);
          TokenizeResponse r = client.tokenizeFile(Path.of(args.get(1)), text);
          printTokens(r.getTokens(), text);
          System.err.printf("%d groups, %.2f s of audio%n", r.getTokens().getGroupCount(), r.getAudioDurationSeconds());
          return 0;
        }
        case "stream": {
          need(args, 2);
          StreamResult r = client.streamTokenizeFile(Path.of(args.get(1)), chunk, text);
          printTokens(r.getTokens(), text);
          System.err.printf("%d groups in %d messages%n", r.getTokens().getGroupCount(), r.getResponses().size());
          return 0;
        }
        case "detokenize": {
          if (args.size() != 2 && args.size() != 3) {
            throw new IllegalArgumentException("detokenize OUT.wav [IDS.txt|-]");
          }
          String source = args.size() == 3 ? args.get(2) : "-";
          String ids = source.equals("-")
              ? new String(System.in.readAllBytes(), StandardCharsets.UTF_8)
              : Files.readString(Path.of(source));
          DetokenizeResponse r = client.detokenizeToFile(parseIds(ids), Path.of(args.get(1)));
          System.err.printf("%d groups -> %s (%.2f s)%n", r.getGroupCount(), args.get(1), r.getAudio().getDurationSeconds());
          return 0;
        }
        case "roundtrip": {
          need(args, 3);
          TokenizeResponse t = client.tokenizeFile(Path.of(args.get(1)), false);
          DetokenizeResponse d = client.detokenizeToFile(t.getTokens().getInterleavedList(), Path.of(args.get(2)));
          System.err.printf("%d groups -> %s (%.2f s)%n", d.getGroupCount(), args.get(2), d.getAudio().getDurationSeconds());
          return 0;
        }
        case "synthesize": {
          need(args, 3);
          SynthesizeRequest request =
              SynthesizeRequest.newBuilder()
                  .setText(args.get(1))
                  .setVoice(voice)
                  .setStyleInstruction(style)
                  .setOutputFormat(
                      OutputAudioFormat.newBuilder().setContainer(AudioContainer.AUDIO_CONTAINER_WAV))
                  .build();
          Path out = Path.of(args.get(2));
          long start = System.nanoTime();
          SynthesisResult r;
          if (stream) {
            // Text as an LLM would send it: word by word, the config first (without text).
            List<String> words = Arrays.asList(args.get(1).split("(?<= )"));
            r = client.streamSynthesize(request.toBuilder().clearText().build(), words).collect();
            Files.write(out, r.getAudio());
          } else {
            r = client.synthesizeToFile(request, out);
          }
          System.err.printf(
              "wrote %s: %.2f s at %d Hz, %d groups in %d messages, voice %s (%d ms)%n",
              out,
              r.getDurationSeconds(),
              r.getFormat().getSampleRateHz(),
              r.getGroupCount(),
              r.getResponses().size(),
              r.getReport().getVoice(),
              (System.nanoTime() - start) / 1_000_000);
          for (String item : r.getReport().getNotAppliedList()) {
            System.err.println("  not applied: " + item);
          }
          return 0;
        }
        case "voices": {
          need(args, 1);
          for (Voice v : client.listVoices()) {
            String kind = v.getBuiltin() ? "built-in" : String.format("%.1f s prompt", v.getPromptSeconds());
            System.out.println(v.getId() + "\t" + v.getName() + "\t" + kind);
          }
          return 0;
        }
        default:
          throw new IllegalArgumentException("unknown command " + command);
      }
    }
  }

  private static void printTokens(AudioTokens tokens, boolean text) {
    System.out.println(
        tokens.getInterleavedList().stream().map(String::valueOf).collect(Collectors.joining(" ")));
    if (text) {
      System.out.println(tokens.getText());
    }
  }

  static List<Integer> parseIds(String s) {
    List<Integer> ids = new ArrayList<>();
    for (String part : s.trim().split("[\\s,]+")) {
      if (!part.isEmpty()) {
        ids.add(Integer.parseInt(part));
      }
    }
    return ids;
  }

  private static String value(String[] argv, int i, String flag) {
    if (i >= argv.length) {
      throw new IllegalArgumentException(flag + " needs a value");
    }
    return argv[i];
  }

  private static void need(List<String> args, int n) {
    if (args.size() != n) {
      throw new IllegalArgumentException("wrong number of arguments for " + args.get(0));
    }
  }

  private static void usage() {
    System.err.println(
        String.join(
            "\n",
            "usage: VoxgateExample [--addr HOST:PORT] [--timeout SECONDS] [TLS and token flags] COMMAND ...",
            "  info                              server token format and limits",
            "  tokenize IN.wav [--text]          print the interleaved ids",
            "  stream IN.wav [--chunk BYTES]     the same via StreamTokenize",
            "  detokenize OUT.wav [IDS.txt|-]    ids to a WAV file",
            "  roundtrip IN.wav OUT.wav          tokenize then detokenize",
            "  synthesize \"TEXT\" OUT.wav [--voice V] [--style S] [--stream]",
            "                                    speak text into a WAV file",
            "  voices                            list the voices",
            "  chat (--audio Q.wav | --text TEXT) [--out REPLY.wav] [--max-tokens N] [--temperature T]",
            "                                    one conversation turn (ChatExample --help)",
            ConnectionOptions.USAGE));
  }
}

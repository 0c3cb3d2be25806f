package dev.voxgate.example;

import dev.voxgate.ChatReply;
import dev.voxgate.ChatSession;
import dev.voxgate.VoxgateClient;
import dev.voxgate.VoxgateException;
import dev.voxgate.v1.AudioContainer;
import dev.voxgate.v1.ChatConfig;
import dev.voxgate.v1.OutputAudioFormat;
import dev.voxgate.v1.StreamAudioFormat;
import dev.voxgate.v1.TurnDetection;
import dev.voxgate.v1.TurnDetectionMode;
import dev.voxgate.v1.TurnEnd;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Command-line example of a voxgate conversation: one user turn, spoken (a WAV file) or typed,
 * and the spoken reply saved as a WAV file.
 *
 * <pre>
 * ChatExample [--addr HOST:PORT] [--timeout SECONDS] --audio QUESTION.wav [--out REPLY.wav]
 * ChatExample [--addr HOST:PORT] [--timeout SECONDS] --text "TEXT" [--out REPLY.wav]
 *   [--system PROMPT] [--voice V] [--max-tokens N] [--temperature T] [--chunk BYTES]
 * </pre>
 *
 * <p>The WAV file is sent in pieces ({@code --chunk}, default 32 KiB) as container WAV with
 * MANUAL turn detection, then the end of the turn. The reply is asked for as WAV, which arrives
 * whole in the reply's last audio message; without {@code --out} the reply is text only. Prints
 * {@code user: <what the server heard>} and {@code assistant: <the reply>}. Also run as {@code
 * VoxgateExample chat ...} (clients/java/example.sh chat ...). The address defaults to
 * $VOXGATE_ADDR, else 127.0.0.1:50051; TLS and token flags as {@link VoxgateExample}'s.
 */
public final class ChatExample {
  private static final Logger GRPC_LOGGER = Logger.getLogger("io.grpc");

  private ChatExample() {}

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
    ConnectionOptions conn = new ConnectionOptions(env);
    Duration timeout = Duration.ofSeconds(120);
    String audio = null;
    String text = null;
    String out = null;
    int chunk = ChatSession.DEFAULT_CHUNK_BYTES;
    ChatConfig.Builder config =
        ChatConfig.newBuilder()
            .setTurnDetection(
                TurnDetection.newBuilder().setMode(TurnDetectionMode.TURN_DETECTION_MODE_MANUAL))
            .setOutputFormat(
                OutputAudioFormat.newBuilder().setContainer(AudioContainer.AUDIO_CONTAINER_WAV));
    for (int i = 0; i < argv.length; i++) {
      int last = conn.parse(argv, i);
      if (last >= 0) {
        i = last;
        continue;
      }
      String flag = argv[i];
      switch (flag) {
        case "--timeout":
          timeout = Duration.ofMillis((long) (Double.parseDouble(value(argv, ++i, flag)) * 1000));
          break;
        case "--audio":
          audio = value(argv, ++i, flag);
          break;
        case "--text":
          text = value(argv, ++i, flag);
          break;
        case "--out":
          out = value(argv, ++i, flag);
          break;
        case "--system":
          config.setSystemPrompt(value(argv, ++i, flag));
          break;
        case "--voice":
          config.setVoice(value(argv, ++i, flag));
          break;
        case "--max-tokens":
          config.setMaxReplyTokens(Integer.parseInt(value(argv, ++i, flag)));
          break;
        case "--temperature":
          config.setTemperature(Float.parseFloat(value(argv, ++i, flag)));
          break;
        case "--chunk":
          chunk = Integer.parseInt(value(argv, ++i, flag));
          break;
        case "-h":
        case "--help":
          usage();
          return 0;
        default:
          throw new IllegalArgumentException("unknown argument " + flag);
      }
    }
    if (audio == null && text == null) {
      usage();
      return 2;
    }
    config.setTextOnly(out == null);
    if (audio != null) {
      config.setInputFormat(
          StreamAudioFormat.newBuilder().setContainer(AudioContainer.AUDIO_CONTAINER_WAV));
    }

    long start = System.nanoTime();
    ChatReply reply;
    // waitForReady(false): a command line fails at once (UNAVAILABLE) when the server is down.
    try (VoxgateClient client =
            conn.builder().streamTimeout(timeout).waitForReady(false).build();
        ChatSession chat = client.chat(config.build())) {
      if (audio != null) {
        try (InputStream in = Files.newInputStream(Path.of(audio))) {
          reply = chat.turn(text, in, chunk);
        }
      } else {
        reply = chat.turn(text);
      }
      chat.finish(); // half-close and read the end of the call
    }
    TurnEnd end = reply.getTurnEnd();
    System.out.println("user: " + end.getUserTranscript());
    System.out.println("assistant: " + end.getText());
    if (out != null) {
      byte[] wav = reply.getAudio();
      if (wav.length == 0) {
        throw new IOException("the reply has no audio");
      }
      Files.write(Path.of(out), wav);
      System.err.printf(
          "wrote %s: %.2f s at %d Hz%n", out, end.getAudioSeconds(), reply.getFormat().getSampleRateHz());
    }
    System.err.printf(
        "%d reply tokens in %d ms; after the end of the turn: transcript %d ms, first text %d ms,"
            + " first audio %d ms%n",
        end.getReplyTokens(),
        (System.nanoTime() - start) / 1_000_000,
        end.getLatency().getTranscriptMs(),
        end.getLatency().getFirstTextMs(),
        end.getLatency().getFirstAudioMs());
    return 0;
  }

  private static String value(String[] argv, int i, String flag) {
    if (i >= argv.length) {
      throw new IllegalArgumentException(flag + " needs a value");
    }
    return argv[i];
  }

  private static void usage() {
    System.err.println(
        String.join(
            "\n",
            "usage: ChatExample [--addr HOST:PORT] [--timeout SECONDS] (--audio QUESTION.wav | --text TEXT)",
            "                   [--out REPLY.wav] [--system PROMPT] [--voice V] [--max-tokens N]",
            "                   [--temperature T] [--chunk BYTES]",
            "  --audio   a WAV file sent as the user's spoken turn (with --text: typed text first)",
            "  --text    text sent as the user's turn",
            "  --out     WAV file for the spoken reply (without it the reply is text only)",
            ConnectionOptions.USAGE));
  }
}

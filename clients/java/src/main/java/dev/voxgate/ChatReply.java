package dev.voxgate;

import com.google.protobuf.ByteString;
import dev.voxgate.v1.ChatResponse;
import dev.voxgate.v1.OutputAudioFormat;
import dev.voxgate.v1.TurnEnd;
import dev.voxgate.v1.WordTiming;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * One assistant reply of a {@link ChatSession}: the server's messages up to and including the
 * reply's {@link TurnEnd}, and what they add up to.
 */
public final class ChatReply {
  private final List<ChatResponse> responses;
  private final String text;
  private final byte[] audio;
  private final OutputAudioFormat format;
  private final List<Integer> audioTokens;
  private final List<WordTiming> words;
  private final String transcript;
  private final TurnEnd turnEnd;
  private final int audioMessages;

  private ChatReply(
      List<ChatResponse> responses,
      String text,
      byte[] audio,
      OutputAudioFormat format,
      List<Integer> audioTokens,
      List<WordTiming> words,
      String transcript,
      TurnEnd turnEnd,
      int audioMessages) {
    this.responses = List.copyOf(responses);
    this.text = text;
    this.audio = audio;
    this.format = format;
    this.audioTokens = Collections.unmodifiableList(audioTokens);
    this.words = Collections.unmodifiableList(words);
    this.transcript = transcript;
    this.turnEnd = turnEnd;
    this.audioMessages = audioMessages;
  }

  /** Combines the messages of one reply, in the order they arrived (the TurnEnd last). */
  public static ChatReply of(List<ChatResponse> responses) {
    StringBuilder text = new StringBuilder();
    ByteString audio = ByteString.EMPTY;
    OutputAudioFormat format = OutputAudioFormat.getDefaultInstance();
    List<Integer> tokens = new ArrayList<>();
    List<WordTiming> words = new ArrayList<>();
    String transcript = "";
    TurnEnd end = null;
    int audioMessages = 0;
    for (ChatResponse r : responses) {
      switch (r.getMessageCase()) {
        case TEXT_DELTA:
          text.append(r.getTextDelta());
          break;
        case AUDIO:
          audioMessages++;
          if (r.getAudio().hasFormat()) {
            format = r.getAudio().getFormat();
          }
          audio = audio.concat(r.getAudio().getData());
          tokens.addAll(r.getAudioTokensList());
          words.addAll(r.getWordsList());
          break;
        case TRANSCRIPT:
          if (r.getTranscript().getIsFinal()) {
            transcript = r.getTranscript().getText();
          }
          break;
        case TURN_END:
          end = r.getTurnEnd();
          break;
        default:
          break;
      }
    }
    return new ChatReply(
        responses,
        text.toString(),
        audio.toByteArray(),
        format,
        tokens,
        words,
        transcript,
        end == null ? TurnEnd.getDefaultInstance() : end,
        audioMessages);
  }

  /** The server's messages of this reply, in arrival order; the last is the TurnEnd. */
  public List<ChatResponse> getResponses() {
    return responses;
  }

  /** The request id the server echoed. */
  public String getRequestId() {
    return responses.isEmpty() ? "" : responses.get(0).getRequestId();
  }

  /** The reply's turn index (from 0). */
  public int getTurnIndex() {
    return responses.isEmpty() ? 0 : responses.get(responses.size() - 1).getTurnIndex();
  }

  /** The concatenated text deltas (equal to {@code getTurnEnd().getText()}). */
  public String getText() {
    return text;
  }

  /**
   * The audio data of all audio messages, concatenated: the whole file for WAV and FLAC (it
   * arrives in the reply's last audio message), the Ogg/Opus pages for OGG, the PCM of all pieces
   * for RAW; empty in text-only mode.
   */
  public byte[] getAudio() {
    return audio.clone();
  }

  /** The format of {@link #getAudio()}, defaults resolved (the default instance without audio). */
  public OutputAudioFormat getFormat() {
    return format;
  }

  /** The interleaved audio token ids of all audio pieces, in order. */
  public List<Integer> getAudioTokens() {
    return audioTokens;
  }

  /** Word timings of all audio pieces, from the reply's start. */
  public List<WordTiming> getWords() {
    return words;
  }

  /** The final transcript of the user's spoken turn; empty for typed turns. */
  public String getTranscript() {
    return transcript;
  }

  /**
   * The reply's TurnEnd: full text, what the user said, interrupted, heard text, latency, token
   * count and audio seconds (the default instance if the messages held none).
   */
  public TurnEnd getTurnEnd() {
    return turnEnd;
  }

  /** The number of audio messages. */
  public int getAudioMessageCount() {
    return audioMessages;
  }
}

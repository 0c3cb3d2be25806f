package dev.voxgate;

import com.google.protobuf.ByteString;
import dev.voxgate.v1.OutputAudioFormat;
import dev.voxgate.v1.SynthesisReport;
import dev.voxgate.v1.SynthesizeResponse;
import dev.voxgate.v1.WordTiming;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A whole Synthesize or StreamSynthesize answer: every piece, in order, and what they add up to.
 */
public final class SynthesisResult {
  private final List<SynthesizeResponse> responses;
  private final List<Integer> tokens;
  private final List<WordTiming> words;
  private final byte[] audio;

  private SynthesisResult(
      List<SynthesizeResponse> responses, List<Integer> tokens, List<WordTiming> words, byte[] audio) {
    this.responses = List.copyOf(responses);
    this.tokens = Collections.unmodifiableList(tokens);
    this.words = Collections.unmodifiableList(words);
    this.audio = audio;
  }

  /** Combines the pieces of one call, in the order they arrived. */
  public static SynthesisResult of(List<SynthesizeResponse> responses) {
    List<Integer> tokens = new ArrayList<>();
    List<WordTiming> words = new ArrayList<>();
    ByteString audio = ByteString.EMPTY;
    for (SynthesizeResponse r : responses) {
      tokens.addAll(r.getAudioTokensList());
      words.addAll(r.getWordsList());
      audio = audio.concat(r.getAudio().getData());
    }
    return new SynthesisResult(responses, tokens, words, audio.toByteArray());
  }

  /** The server's messages in arrival order; the last one has {@code final} set. */
  public List<SynthesizeResponse> getResponses() {
    return responses;
  }

  /** The request id the server echoed. */
  public String getRequestId() {
    return responses.isEmpty() ? "" : responses.get(0).getRequestId();
  }

  /** The interleaved audio token ids of all pieces ([l, l, s, s, s] per 120 ms group). */
  public List<Integer> getTokens() {
    return tokens;
  }

  /** The number of 120 ms groups. */
  public int getGroupCount() {
    return tokens.size() / 5;
  }

  /** What was done with the voice and style (from the first message). */
  public SynthesisReport getReport() {
    return responses.isEmpty() ? SynthesisReport.getDefaultInstance() : responses.get(0).getReport();
  }

  /** Word timings of all pieces, relative to the start of the audio. */
  public List<WordTiming> getWords() {
    return words;
  }

  /**
   * The audio data of all messages, concatenated: the whole file for WAV and FLAC (it arrives in
   * the final message), the Ogg/Opus pages for OGG, the PCM of all pieces for RAW.
   */
  public byte[] getAudio() {
    return audio.clone();
  }

  /** The format of {@link #getAudio()}, defaults resolved (from the final message). */
  public OutputAudioFormat getFormat() {
    return responses.isEmpty()
        ? OutputAudioFormat.getDefaultInstance()
        : responses.get(responses.size() - 1).getAudio().getFormat();
  }

  /** The duration of the audio in seconds. */
  public double getDurationSeconds() {
    return responses.isEmpty() ? 0 : responses.get(responses.size() - 1).getStartSeconds();
  }

  /** Whether the last message had {@code final} set (a complete answer). */
  public boolean isComplete() {
    return !responses.isEmpty() && responses.get(responses.size() - 1).getFinal();
  }
}

package dev.voxgate;

import dev.voxgate.v1.AudioTokens;
import dev.voxgate.v1.StreamTokenizeResponse;
import java.util.List;

/**
 * The outcome of a StreamTokenize call: every message the server sent, in order, and their tokens
 * concatenated (which equal what Tokenize returns for the same audio).
 */
public final class StreamResult {
  private final String requestId;
  private final List<StreamTokenizeResponse> responses;
  private final AudioTokens tokens;

  StreamResult(String requestId, List<StreamTokenizeResponse> responses, AudioTokens tokens) {
    this.requestId = requestId;
    this.responses = List.copyOf(responses);
    this.tokens = tokens;
  }

  /** The request id the server echoed on every message. */
  public String getRequestId() {
    return requestId;
  }

  /** The server's messages in arrival order; the last one has {@code final} set. */
  public List<StreamTokenizeResponse> getResponses() {
    return responses;
  }

  /** All tokens of the stream, concatenated; {@code group_count} is their total. */
  public AudioTokens getTokens() {
    return tokens;
  }
}

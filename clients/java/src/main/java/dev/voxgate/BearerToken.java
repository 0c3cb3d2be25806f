package dev.voxgate;

import io.grpc.CallCredentials;
import io.grpc.Metadata;
import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * Call credentials that send {@code authorization: Bearer <token>} with every call (voxgate serve
 * {@code --auth-tokens-file} maps the token to a tenant). {@link VoxgateClient.Builder#token}
 * puts them on the client's channel; for a channel of your own, compose them with its channel
 * credentials ({@code CompositeChannelCredentials.create(tls, new BearerToken(token))}) or set
 * them on a stub ({@code stub.withCallCredentials(...)}).
 *
 * <p>They are sent on plaintext channels too (for a mesh sidecar that does the TLS), but a token
 * on a plaintext channel is readable by anyone on the path: use it with TLS.
 */
public final class BearerToken extends CallCredentials {
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final String token;

  /** @param token the token as {@code voxgate auth token} printed it */
  public BearerToken(String token) {
    Objects.requireNonNull(token, "token");
    if (token.isBlank() || token.chars().anyMatch(c -> c < 0x21 || c > 0x7e)) {
      throw new IllegalArgumentException("a bearer token is printable ASCII without spaces");
    }
    this.token = token;
  }

  @Override
  public void applyRequestMetadata(
      RequestInfo requestInfo, Executor appExecutor, MetadataApplier applier) {
    Metadata headers = new Metadata();
    headers.put(AUTHORIZATION, "Bearer " + token);
    applier.apply(headers);
  }

  /** Does not show the token. */
  @Override
  public String toString() {
    return "BearerToken[***]";
  }
}

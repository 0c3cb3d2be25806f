package voxgate

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"google.golang.org/grpc/credentials"
)

// TLSOptions makes the connection TLS (see WithTLS). The zero value trusts the system's roots
// and presents no client certificate.
type TLSOptions struct {
	// CAFile is a PEM file of the CA certificate(s) to trust; "" trusts the system's roots.
	CAFile string
	// CertFile and KeyFile are a PEM client certificate (chain) and its private key, for servers
	// that require one (mutual TLS: voxgate serve --tls-client-ca). Both or neither.
	CertFile, KeyFile string
	// ServerName is the name the server's certificate must carry, instead of the host of the
	// address (e.g. when dialling an IP address, or through a tunnel).
	ServerName string
}

// Config reads the files and returns the TLS configuration (TLS 1.2 or later).
func (o TLSOptions) Config() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.ServerName}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("voxgate: TLS CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("voxgate: TLS CA %s: no PEM certificate in it", o.CAFile)
		}
		cfg.RootCAs = pool
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return nil, errors.New("voxgate: a TLS client certificate needs its key (and the key its certificate)")
	}
	if o.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("voxgate: TLS client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// WithTLS connects over TLS (default: plaintext): the server's certificate is checked against
// opts.CAFile (or the system's roots), and with CertFile and KeyFile the client presents a
// certificate (mutual TLS). Dial reads the files and fails when one is missing or invalid.
func WithTLS(opts TLSOptions) Option {
	return func(o *options) { o.tls = &opts; o.tlsConfig = nil }
}

// WithTLSConfig connects over TLS with cfg as is (for settings TLSOptions does not have, e.g.
// certificates from memory or GetClientCertificate).
func WithTLSConfig(cfg *tls.Config) Option {
	return func(o *options) { o.tlsConfig = cfg; o.tls = nil }
}

// WithToken sends token with every call as the metadata "authorization: Bearer <token>"
// (voxgate serve --auth-tokens-file maps it to a tenant). An empty token sends nothing.
//
// It is sent on plaintext connections too (for a mesh sidecar that does the TLS), but a token on
// a plaintext connection is readable by anyone on the path: use it with WithTLS.
func WithToken(token string) Option {
	return func(o *options) { o.token = token }
}

// BearerToken is a credentials.PerRPCCredentials that sends "authorization: Bearer <token>"
// with every call, on TLS and on plaintext connections (WithToken uses it; for a connection of
// your own: grpc.WithPerRPCCredentials(voxgate.BearerToken("...")) or grpc.PerRPCCredentials as
// a call option).
type BearerToken string

var _ credentials.PerRPCCredentials = BearerToken("")

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (t BearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(t)}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials: false, so that the token is
// also sent on plaintext connections (behind a mesh sidecar that encrypts).
func (BearerToken) RequireTransportSecurity() bool { return false }

// checkToken refuses a token that cannot go in a header as is.
func checkToken(token string) error {
	for _, r := range token {
		if r < 0x21 || r > 0x7e {
			return errors.New("voxgate: a bearer token is printable ASCII without spaces")
		}
	}
	return nil
}

// transportCredentials returns the TLS credentials of the options, or nil for plaintext.
func (o *options) transportCredentials() (credentials.TransportCredentials, error) {
	switch {
	case o.tlsConfig != nil:
		return credentials.NewTLS(o.tlsConfig), nil
	case o.tls != nil:
		cfg, err := o.tls.Config()
		if err != nil {
			return nil, err
		}
		return credentials.NewTLS(cfg), nil
	}
	return nil, nil
}

// Package cliconn holds the connection flags that the example CLIs share: TLS (mutual TLS with a
// client certificate) and the bearer token, from flags or, as the Python CLI `voxgate` reads
// them, the environment: $VOXGATE_TLS=1, $VOXGATE_TLS_CA, $VOXGATE_TLS_CERT, $VOXGATE_TLS_KEY and
// $VOXGATE_TOKEN.
package cliconn

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/voxgate/voxgate/clients/go/voxgate"
)

// Flags are the values of the connection flags (their defaults come from the environment).
type Flags struct {
	TLS        bool
	CA         string
	Cert       string
	Key        string
	ServerName string
	TokenFile  string
}

// Register defines -tls, -tls-ca, -tls-cert, -tls-key, -tls-server-name and -token-file on fs,
// with defaults from the environment as it is now.
func Register(fs *flag.FlagSet) *Flags {
	f := &Flags{}
	fs.BoolVar(&f.TLS, "tls", os.Getenv("VOXGATE_TLS") == "1",
		"connect with TLS, trusting the system's CAs (on by itself with -tls-ca or -tls-cert; $VOXGATE_TLS=1)")
	fs.StringVar(&f.CA, "tls-ca", os.Getenv("VOXGATE_TLS_CA"), "CA certificate to trust (PEM; $VOXGATE_TLS_CA)")
	fs.StringVar(&f.Cert, "tls-cert", os.Getenv("VOXGATE_TLS_CERT"),
		"client certificate for mutual TLS (PEM; $VOXGATE_TLS_CERT)")
	fs.StringVar(&f.Key, "tls-key", os.Getenv("VOXGATE_TLS_KEY"), "the client certificate's private key (PEM; $VOXGATE_TLS_KEY)")
	fs.StringVar(&f.ServerName, "tls-server-name", "", "name the server's certificate must carry (default: the address's host)")
	fs.StringVar(&f.TokenFile, "token-file", "", "file holding a bearer token (default: $VOXGATE_TOKEN, if set)")
	return f
}

// TLSOptions returns the TLS settings, or nil for plaintext.
func (f *Flags) TLSOptions() *voxgate.TLSOptions {
	if !f.TLS && f.CA == "" && f.Cert == "" && f.Key == "" && f.ServerName == "" {
		return nil
	}
	return &voxgate.TLSOptions{CAFile: f.CA, CertFile: f.Cert, KeyFile: f.Key, ServerName: f.ServerName}
}

// Token returns the bearer token: the first line of -token-file, else $VOXGATE_TOKEN ("" for none).
func (f *Flags) Token() (string, error) {
	if f.TokenFile == "" {
		return strings.TrimSpace(os.Getenv("VOXGATE_TOKEN")), nil
	}
	data, err := os.ReadFile(f.TokenFile)
	if err != nil {
		return "", fmt.Errorf("-token-file: %w", err)
	}
	token, _, _ := strings.Cut(strings.TrimSpace(string(data)), "\n")
	if token = strings.TrimSpace(token); token == "" {
		return "", errors.New("-token-file " + f.TokenFile + ": no token in it")
	}
	return token, nil
}

// Options returns the voxgate.Dial options of the flags.
func (f *Flags) Options() ([]voxgate.Option, error) {
	var opts []voxgate.Option
	if t := f.TLSOptions(); t != nil {
		opts = append(opts, voxgate.WithTLS(*t))
	}
	token, err := f.Token()
	if err != nil {
		return nil, err
	}
	if token != "" {
		opts = append(opts, voxgate.WithToken(token))
	}
	return opts, nil
}

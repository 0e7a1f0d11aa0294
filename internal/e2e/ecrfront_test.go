package e2e

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// ecrFront makes the real registry answer as a private ECR registry
// (<account>.dkr.ecr.<region>.amazonaws.com), which App Runner services
// require: it is the HTTPS proxy the binary is given (HTTPS_PROXY), and it
// terminates TLS for that host with a certificate from a test CA the
// binary trusts (SSL_CERT_FILE), then forwards to the registry.
type ecrFront struct {
	Host     string // the ECR registry host name
	ProxyURL string // HTTPS_PROXY
	CAFile   string // SSL_CERT_FILE
	requests atomic.Int64
}

func startECRFront(t *testing.T, host, registryHost string) *ecrFront {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "autopilot e2e CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}}}

	f := &ecrFront{Host: host, CAFile: caFile}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.ProxyURL = "http://" + ln.Addr().String()
	transport := &http.Transport{Proxy: nil}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect || r.Host != host+":443" {
			http.Error(w, "this proxy only tunnels to "+host+":443", http.StatusForbidden)
			return
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		go f.serveTunnel(conn, tlsConfig, transport, registryHost)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); transport.CloseIdleConnections() })
	return f
}

// serveTunnel answers the CONNECT, then forwards each request of the TLS
// session to the registry over plain HTTP on loopback.
func (f *ecrFront) serveTunnel(conn net.Conn, cfg *tls.Config, transport http.RoundTripper, registryHost string) {
	defer conn.Close()
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	tlsConn := tls.Server(conn, cfg)
	br := bufio.NewReader(tlsConn)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		f.requests.Add(1)
		req.RequestURI = ""
		req.URL.Scheme, req.URL.Host = "http", registryHost
		req.Host = f.Host
		req.Header.Set("X-Forwarded-Proto", "https")
		resp, err := transport.RoundTrip(req)
		if err != nil {
			resp = &http.Response{StatusCode: http.StatusBadGateway, ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{},
				Body: io.NopCloser(strings.NewReader(err.Error())), Request: req}
		}
		// The registry writes absolute upload URLs from the Host header;
		// they must come back through this tunnel, over HTTPS.
		if loc := resp.Header.Get("Location"); loc != "" {
			loc = strings.Replace(loc, "http://"+f.Host, "https://"+f.Host, 1)
			loc = strings.Replace(loc, "http://"+registryHost, "https://"+f.Host, 1)
			resp.Header.Set("Location", loc)
		}
		werr := resp.Write(tlsConn)
		resp.Body.Close()
		if werr != nil {
			return
		}
	}
}

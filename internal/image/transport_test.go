package image

import (
	"net/http"
	"strings"
	"testing"
)

type okTransport struct{}

func (okTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
}

func TestPlainHTTPOnlyToLoopback(t *testing.T) {
	guard := &loopbackOnlyHTTP{next: okTransport{}}
	cases := []struct {
		url     string
		refused bool
	}{
		{url: "http://127.0.0.1:5000/v2/"},
		{url: "http://localhost:5000/v2/"},
		{url: "http://[::1]:5000/v2/"},
		{url: "https://10.0.0.5/v2/"},
		{url: "http://10.0.0.5:5000/v2/", refused: true},
		{url: "http://registry.example.com/v2/", refused: true},
	}
	for _, tc := range cases {
		t.Run(tc.url, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
			_, err := guard.RoundTrip(req)
			if tc.refused != (err != nil) {
				t.Fatalf("error = %v, refused want %v", err, tc.refused)
			}
			if err != nil && !strings.Contains(err.Error(), "only localhost and 127.0.0.1") {
				t.Errorf("message does not say what is allowed: %v", err)
			}
		})
	}
}

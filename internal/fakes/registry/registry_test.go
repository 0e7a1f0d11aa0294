package registry

import (
	"bytes"
	"net/http"
	"testing"
)

func TestStartCountsUploads(t *testing.T) {
	r := StartT(t)
	cases := []struct {
		name     string
		auth     bool
		wantCode int
	}{
		{name: "anonymous is refused", wantCode: http.StatusUnauthorized},
		{name: "basic auth is accepted", auth: true, wantCode: http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, "http://"+r.Host+"/v2/", nil)
			if tc.auth {
				req.SetBasicAuth(r.Username, r.Password)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.wantCode)
			}
		})
	}
	// A monolithic upload through the proxy is counted.
	r.Reset()
	req, _ := http.NewRequest(http.MethodPost, "http://"+r.Host+"/v2/t/blobs/uploads/", nil)
	req.SetBasicAuth(r.Username, r.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	body := []byte("hello")
	put, _ := http.NewRequest(http.MethodPut, loc+"&digest=sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", bytes.NewReader(body))
	put.SetBasicAuth(r.Username, r.Password)
	resp, err = http.DefaultClient.Do(put)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT status = %d (location %s)\n%s", resp.StatusCode, loc, r.Log())
	}
	if r.BytesUploaded() != int64(len(body)) || r.BlobUploads() != 1 {
		t.Errorf("counted %d bytes in %d uploads, want %d in 1", r.BytesUploaded(), r.BlobUploads(), len(body))
	}
}

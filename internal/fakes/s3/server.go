package s3

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Server is a fake S3 endpoint addressed path-style: /<bucket>/<key>.
type Server struct {
	URL string
	srv *httptest.Server

	mu      sync.Mutex
	buckets map[string]map[string][]byte
	types   map[string]string // bucket/key -> Content-Type given when put
	puts    int
	deletes int
}

// New starts a fake S3 holding the given (empty) buckets. Close it when done.
func New(buckets ...string) *Server {
	s := &Server{buckets: map[string]map[string][]byte{}, types: map[string]string{}}
	for _, b := range buckets {
		s.buckets[b] = map[string][]byte{}
	}
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Object returns a stored object's content.
func (s *Server) Object(bucket, key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[bucket][key]
	return b, ok
}

// Keys returns how many objects a bucket holds.
func (s *Server) Keys(bucket string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.buckets[bucket])
}

// Puts returns how many PutObject calls succeeded.
func (s *Server) Puts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.puts
}

type s3Error struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource,omitempty"`
	RequestID string   `xml:"RequestId"`
}

func writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	w.Header().Set("x-amz-request-id", "FAKE")
	if r.Method == http.MethodHead {
		w.WriteHeader(status) // HEAD responses carry no body
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, xml.Header)
	_ = xml.NewEncoder(w).Encode(s3Error{Code: code, Message: msg, Resource: r.URL.Path, RequestID: "FAKE"})
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	s.mu.Lock()
	objects, ok := s.buckets[bucket]
	s.mu.Unlock()
	if bucket == "" {
		writeError(w, r, http.StatusBadRequest, "InvalidRequest", "path-style addressing expected: /<bucket>/<key>")
		return
	}
	if !ok && !(r.Method == http.MethodPut && key == "") {
		writeError(w, r, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
		return
	}
	switch {
	case r.Method == http.MethodGet && key == "" && r.URL.Query().Get("list-type") == "2":
		s.list(w, bucket, r)
	case r.Method == http.MethodPost && key == "" && r.URL.Query().Has("delete"):
		s.deleteObjects(w, r, bucket)
	case r.Method == http.MethodPut && key == "":
		s.mu.Lock()
		if !ok {
			s.buckets[bucket] = map[string][]byte{}
		}
		s.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	case r.Method == http.MethodHead && key == "":
		w.WriteHeader(http.StatusOK)
	case r.Method == http.MethodPut:
		body, err := readBody(r)
		if err != nil {
			writeError(w, r, http.StatusBadRequest, "IncompleteBody", err.Error())
			return
		}
		sum := md5.Sum(body)
		s.mu.Lock()
		objects[key] = body
		s.types[bucket+"/"+key] = r.Header.Get("Content-Type")
		s.puts++
		s.mu.Unlock()
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
		w.WriteHeader(http.StatusOK)
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		s.mu.Lock()
		body, found := objects[key]
		s.mu.Unlock()
		if !found {
			writeError(w, r, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
			return
		}
		sum := md5.Sum(body)
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(body)
		}
	default:
		writeError(w, r, http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
	}
}

// readBody returns the object bytes, decoding the aws-chunked framing the SDK
// uses when it sends checksums as trailers.
func readBody(r *http.Request) ([]byte, error) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	chunked := strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") ||
		strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-")
	if !chunked {
		return raw, nil
	}
	var out bytes.Buffer
	br := bufio.NewReader(bytes.NewReader(raw))
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("aws-chunked body: %w", err)
		}
		sizeHex, _, _ := strings.Cut(strings.TrimSpace(line), ";")
		size, err := strconv.ParseInt(sizeHex, 16, 64)
		if err != nil {
			return nil, fmt.Errorf("aws-chunked size %q: %w", sizeHex, err)
		}
		if size == 0 {
			return out.Bytes(), nil
		}
		if _, err := io.CopyN(&out, br, size); err != nil {
			return nil, fmt.Errorf("aws-chunked data: %w", err)
		}
		if _, err := br.ReadString('\n'); err != nil {
			return nil, fmt.Errorf("aws-chunked data: %w", err)
		}
	}
}

// List returns a bucket's keys, sorted.
func (s *Server) List(bucket string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.buckets[bucket]))
	for k := range s.buckets[bucket] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ContentType is the Content-Type an object was put with.
func (s *Server) ContentType(bucket, key string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.types[bucket+"/"+key]
}

// Deletes returns how many objects DeleteObjects calls removed.
func (s *Server) Deletes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deletes
}

type listResult struct {
	XMLName               xml.Name      `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name                  string        `xml:"Name"`
	KeyCount              int           `xml:"KeyCount"`
	MaxKeys               int           `xml:"MaxKeys"`
	IsTruncated           bool          `xml:"IsTruncated"`
	Contents              []listContent `xml:"Contents"`
	NextContinuationToken string        `xml:"NextContinuationToken,omitempty"`
}

type listContent struct {
	Key  string `xml:"Key"`
	ETag string `xml:"ETag"`
	Size int    `xml:"Size"`
}

// list answers ListObjectsV2 in key order, max-keys a page (1000 by
// default); the continuation token is the last key returned.
func (s *Server) list(w http.ResponseWriter, bucket string, r *http.Request) {
	q := r.URL.Query()
	limit := 1000
	if n, err := strconv.Atoi(q.Get("max-keys")); err == nil && n > 0 && n < limit {
		limit = n
	}
	after, prefix := q.Get("continuation-token"), q.Get("prefix")
	keys := s.List(bucket)
	res := listResult{Name: bucket, MaxKeys: limit}
	s.mu.Lock()
	for _, k := range keys {
		if k <= after || !strings.HasPrefix(k, prefix) {
			continue
		}
		if len(res.Contents) == limit {
			res.IsTruncated, res.NextContinuationToken = true, res.Contents[limit-1].Key
			break
		}
		body := s.buckets[bucket][k]
		sum := md5.Sum(body)
		res.Contents = append(res.Contents, listContent{Key: k, ETag: `"` + hex.EncodeToString(sum[:]) + `"`, Size: len(body)})
	}
	s.mu.Unlock()
	res.KeyCount = len(res.Contents)
	w.Header().Set("Content-Type", "application/xml")
	_ = xml.NewEncoder(w).Encode(res)
}

type deleteRequest struct {
	Objects []struct {
		Key string `xml:"Key"`
	} `xml:"Object"`
}

type deleteResult struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ DeleteResult"`
	Deleted []struct {
		Key string `xml:"Key"`
	} `xml:"Deleted"`
}

// deleteObjects answers DeleteObjects: up to 1,000 keys, as S3 allows;
// a key that does not exist counts as deleted, as in S3.
func (s *Server) deleteObjects(w http.ResponseWriter, r *http.Request, bucket string) {
	body, err := readBody(r)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, "IncompleteBody", err.Error())
		return
	}
	var req deleteRequest
	if err := xml.Unmarshal(body, &req); err != nil || len(req.Objects) == 0 || len(req.Objects) > 1000 {
		writeError(w, r, http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
		return
	}
	var res deleteResult
	s.mu.Lock()
	for _, o := range req.Objects {
		if _, ok := s.buckets[bucket][o.Key]; ok {
			s.deletes++
		}
		delete(s.buckets[bucket], o.Key)
		delete(s.types, bucket+"/"+o.Key)
		res.Deleted = append(res.Deleted, struct {
			Key string `xml:"Key"`
		}{o.Key})
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/xml")
	_ = xml.NewEncoder(w).Encode(res)
}

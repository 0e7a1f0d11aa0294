// Package cloudfront is an in-memory CloudFront endpoint answering
// CreateInvalidation (REST-XML, API version 2020-05-31) for tests driven by
// the real SDK client.
package cloudfront

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Server is a fake CloudFront endpoint.
type Server struct {
	URL string
	srv *httptest.Server

	mu            sync.Mutex
	invalidations map[string][]Invalidation // distribution ID -> in order
	byReference   map[string]string         // distribution/caller reference -> invalidation ID
}

// Invalidation is one accepted invalidation batch.
type Invalidation struct {
	ID, CallerReference string
	Paths               []string
}

// New starts the fake. Close it when done.
func New() *Server {
	s := &Server{invalidations: map[string][]Invalidation{}, byReference: map[string]string{}}
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Invalidations returns the batches accepted for a distribution.
func (s *Server) Invalidations(distribution string) []Invalidation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Invalidation(nil), s.invalidations[distribution]...)
}

type batch struct {
	Paths struct {
		Quantity int      `xml:"Quantity"`
		Items    []string `xml:"Items>Path"`
	} `xml:"Paths"`
	CallerReference string `xml:"CallerReference"`
}

type invalidation struct {
	XMLName    xml.Name `xml:"http://cloudfront.amazonaws.com/doc/2020-05-31/ Invalidation"`
	ID         string   `xml:"Id"`
	Status     string   `xml:"Status"`
	CreateTime string   `xml:"CreateTime"`
	Batch      batch    `xml:"InvalidationBatch"`
}

type apiError struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var e apiError
	e.Error.Type, e.Error.Code, e.Error.Message = "Sender", code, msg
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_ = xml.NewEncoder(w).Encode(e)
}

// ServeHTTP answers POST /2020-05-31/distribution/<id>/invalidation. As in
// CloudFront, a caller reference sent again for the same distribution
// returns the first invalidation instead of making another.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/2020-05-31/distribution/")
	id, isInvalidation := strings.CutSuffix(rest, "/invalidation")
	if !ok || !isInvalidation || r.Method != http.MethodPost || id == "" || strings.Contains(id, "/") {
		writeError(w, http.StatusNotFound, "NoSuchResource", "The specified resource does not exist.")
		return
	}
	var b batch
	if err := xml.NewDecoder(r.Body).Decode(&b); err != nil || b.CallerReference == "" || b.Paths.Quantity != len(b.Paths.Items) || len(b.Paths.Items) == 0 {
		writeError(w, http.StatusBadRequest, "InvalidArgument", "The invalidation batch is malformed: it needs a CallerReference and Paths whose Quantity matches its Items.")
		return
	}
	for _, p := range b.Paths.Items {
		if !strings.HasPrefix(p, "/") {
			writeError(w, http.StatusBadRequest, "InvalidArgument", fmt.Sprintf("Invalidation path %s must start with /.", p))
			return
		}
	}
	s.mu.Lock()
	inv, seen := s.byReference[id+"/"+b.CallerReference]
	if !seen {
		inv = fmt.Sprintf("I%013d", len(s.byReference)+1)
		s.byReference[id+"/"+b.CallerReference] = inv
		s.invalidations[id] = append(s.invalidations[id], Invalidation{ID: inv, CallerReference: b.CallerReference, Paths: b.Paths.Items})
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Location", fmt.Sprintf("https://cloudfront.amazonaws.com/2020-05-31/distribution/%s/invalidation/%s", id, inv))
	w.WriteHeader(http.StatusCreated)
	_ = xml.NewEncoder(w).Encode(invalidation{ID: inv, Status: "InProgress", CreateTime: time.Now().UTC().Format(time.RFC3339), Batch: b})
}

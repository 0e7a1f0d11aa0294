package sts

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/autopilot-dev/autopilot/internal/fakes/awsquery"
)

const xmlns = "https://sts.amazonaws.com/doc/2011-06-15/"

// Server is a fake STS endpoint.
type Server struct {
	URL     string
	Account string
	srv     *httptest.Server

	mu sync.Mutex
	// tokens accepted by AssumeRoleWithWebIdentity; empty accepts any.
	tokens map[string]bool
	calls  []url.Values
}

// New starts a fake STS answering for account. Close it when done.
func New(account string) *Server {
	s := &Server{Account: account, tokens: map[string]bool{}}
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// AcceptToken limits AssumeRoleWithWebIdentity to the given web identity
// tokens; others are refused with InvalidIdentityToken.
func (s *Server) AcceptToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = true
}

// Calls returns the parameters of every call received.
func (s *Server) Calls() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.calls...)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	awsquery.WriteError(w, status, xmlns, "Sender", code, msg, "fake-request")
}

type callerIdentity struct {
	XMLName xml.Name `xml:"GetCallerIdentityResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Arn     string   `xml:"GetCallerIdentityResult>Arn"`
	UserID  string   `xml:"GetCallerIdentityResult>UserId"`
	Account string   `xml:"GetCallerIdentityResult>Account"`
	Request string   `xml:"ResponseMetadata>RequestId"`
}

type assumeRole struct {
	XMLName         xml.Name `xml:"AssumeRoleWithWebIdentityResponse"`
	Xmlns           string   `xml:"xmlns,attr"`
	AccessKeyID     string   `xml:"AssumeRoleWithWebIdentityResult>Credentials>AccessKeyId"`
	SecretAccessKey string   `xml:"AssumeRoleWithWebIdentityResult>Credentials>SecretAccessKey"`
	SessionToken    string   `xml:"AssumeRoleWithWebIdentityResult>Credentials>SessionToken"`
	Expiration      string   `xml:"AssumeRoleWithWebIdentityResult>Credentials>Expiration"`
	SubjectFromWIT  string   `xml:"AssumeRoleWithWebIdentityResult>SubjectFromWebIdentityToken"`
	AssumedRoleArn  string   `xml:"AssumeRoleWithWebIdentityResult>AssumedRoleUser>Arn"`
	AssumedRoleID   string   `xml:"AssumeRoleWithWebIdentityResult>AssumedRoleUser>AssumedRoleId"`
	Audience        string   `xml:"AssumeRoleWithWebIdentityResult>Audience"`
	Provider        string   `xml:"AssumeRoleWithWebIdentityResult>Provider"`
	Request         string   `xml:"ResponseMetadata>RequestId"`
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeError(w, http.StatusBadRequest, "MalformedQueryString", err.Error())
		return
	}
	s.mu.Lock()
	s.calls = append(s.calls, form)
	tokens := len(s.tokens)
	accepted := s.tokens[form.Get("WebIdentityToken")]
	s.mu.Unlock()

	w.Header().Set("Content-Type", "text/xml")
	switch form.Get("Action") {
	case "GetCallerIdentity":
		_ = xml.NewEncoder(w).Encode(callerIdentity{Xmlns: xmlns, Account: s.Account,
			Arn: fmt.Sprintf("arn:aws:iam::%s:user/autopilot-test", s.Account), UserID: "AIDAFAKEUSERID", Request: "fake-request"})
	case "AssumeRoleWithWebIdentity":
		role := form.Get("RoleArn")
		if role == "" || form.Get("RoleSessionName") == "" || form.Get("WebIdentityToken") == "" {
			writeError(w, http.StatusBadRequest, "ValidationError", "RoleArn, RoleSessionName and WebIdentityToken are required")
			return
		}
		if tokens > 0 && !accepted {
			writeError(w, http.StatusBadRequest, "InvalidIdentityToken", "Couldn't retrieve verification key from your identity provider")
			return
		}
		roleName := role[strings.LastIndex(role, "/")+1:]
		_ = xml.NewEncoder(w).Encode(assumeRole{Xmlns: xmlns,
			AccessKeyID: "ASIAFAKEACCESSKEY", SecretAccessKey: "fake-secret-key", SessionToken: "fake-session-token",
			Expiration:     time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
			SubjectFromWIT: "repo:autopilot-dev/autopilot:ref:refs/heads/main",
			AssumedRoleArn: fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", s.Account, roleName, form.Get("RoleSessionName")),
			AssumedRoleID:  "AROAFAKEROLEID:" + form.Get("RoleSessionName"),
			Audience:       "sts.amazonaws.com", Provider: "token.actions.githubusercontent.com", Request: "fake-request"})
	default:
		writeError(w, http.StatusBadRequest, "InvalidAction", fmt.Sprintf("Could not find operation %s", form.Get("Action")))
	}
}

package elbv2

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"

	"github.com/autopilot-dev/autopilot/internal/fakes/awsquery"
)

const (
	xmlns      = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"
	apiVersion = "2015-12-01"
)

// LoadBalancer is an application load balancer the fake knows.
type LoadBalancer struct {
	ARN, Name, DNSName, CanonicalHostedZoneID string
	Scheme                                    string // internet-facing (default) or internal
	SecurityGroups                            []string
	Listeners                                 []Listener
}

// Listener is one listener of a load balancer.
type Listener struct {
	ARN      string
	Port     int
	Protocol string
}

// Server is a fake ELBv2 endpoint.
type Server struct {
	URL string
	srv *httptest.Server

	mu    sync.Mutex
	lbs   []LoadBalancer
	calls map[string]int
}

// New starts a fake knowing lbs. Close it when done.
func New(lbs ...LoadBalancer) *Server {
	s := &Server{lbs: lbs, calls: map[string]int{}}
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Count is how many calls of action were received.
func (s *Server) Count(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[action]
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	awsquery.WriteError(w, status, xmlns, "Sender", code, msg, "fake-request")
}

type lbMember struct {
	LoadBalancerArn       string   `xml:"LoadBalancerArn"`
	LoadBalancerName      string   `xml:"LoadBalancerName"`
	DNSName               string   `xml:"DNSName"`
	CanonicalHostedZoneID string   `xml:"CanonicalHostedZoneId"`
	Scheme                string   `xml:"Scheme"`
	Type                  string   `xml:"Type"`
	State                 string   `xml:"State>Code"`
	SecurityGroups        []string `xml:"SecurityGroups>member"`
}

type describeLoadBalancers struct {
	XMLName       xml.Name   `xml:"DescribeLoadBalancersResponse"`
	Xmlns         string     `xml:"xmlns,attr"`
	LoadBalancers []lbMember `xml:"DescribeLoadBalancersResult>LoadBalancers>member"`
	RequestID     string     `xml:"ResponseMetadata>RequestId"`
}

type listenerMember struct {
	ListenerArn     string `xml:"ListenerArn"`
	LoadBalancerArn string `xml:"LoadBalancerArn"`
	Port            int    `xml:"Port"`
	Protocol        string `xml:"Protocol"`
}

type describeListeners struct {
	XMLName    xml.Name         `xml:"DescribeListenersResponse"`
	Xmlns      string           `xml:"xmlns,attr"`
	Listeners  []listenerMember `xml:"DescribeListenersResult>Listeners>member"`
	NextMarker string           `xml:"DescribeListenersResult>NextMarker,omitempty"`
	RequestID  string           `xml:"ResponseMetadata>RequestId"`
}

// members are the values of a query-protocol list (Name.member.1, ...).
func members(form url.Values, name string) []string {
	var out []string
	for i := 1; form.Has(fmt.Sprintf("%s.member.%d", name, i)); i++ {
		out = append(out, form.Get(fmt.Sprintf("%s.member.%d", name, i)))
	}
	return out
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || r.Method != http.MethodPost {
		writeError(w, http.StatusBadRequest, "MalformedQueryString", "expected a form-encoded POST")
		return
	}
	action := form.Get("Action")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[action]++
	if v := form.Get("Version"); v != apiVersion {
		writeError(w, http.StatusBadRequest, "InvalidAction", fmt.Sprintf("Version %q is not %s", v, apiVersion))
		return
	}
	switch action {
	case "DescribeLoadBalancers":
		s.describeLoadBalancers(w, form)
	case "DescribeListeners":
		s.describeListeners(w, form)
	default:
		writeError(w, http.StatusBadRequest, "InvalidAction", fmt.Sprintf("Could not find operation %s for version %s", action, apiVersion))
	}
}

func (s *Server) describeLoadBalancers(w http.ResponseWriter, form url.Values) {
	names, arns := members(form, "Names"), members(form, "LoadBalancerArns")
	if len(names) > 0 && len(arns) > 0 {
		writeError(w, http.StatusBadRequest, "ValidationError", "Load balancer names and load balancer ARNs cannot be specified at the same time")
		return
	}
	out := describeLoadBalancers{Xmlns: xmlns, RequestID: "fake-request"}
	for _, want := range append(names, arns...) {
		lb, ok := s.find(want)
		if !ok {
			writeError(w, http.StatusBadRequest, "LoadBalancerNotFound", "One or more load balancers not found")
			return
		}
		scheme := lb.Scheme
		if scheme == "" {
			scheme = "internet-facing"
		}
		out.LoadBalancers = append(out.LoadBalancers, lbMember{LoadBalancerArn: lb.ARN, LoadBalancerName: lb.Name, DNSName: lb.DNSName,
			CanonicalHostedZoneID: lb.CanonicalHostedZoneID, Scheme: scheme, Type: "application", State: "active", SecurityGroups: lb.SecurityGroups})
	}
	w.Header().Set("Content-Type", "text/xml")
	_ = xml.NewEncoder(w).Encode(out)
}

func (s *Server) find(nameOrARN string) (LoadBalancer, bool) {
	for _, lb := range s.lbs {
		if lb.ARN == nameOrARN || lb.Name == nameOrARN {
			return lb, true
		}
	}
	return LoadBalancer{}, false
}

func (s *Server) describeListeners(w http.ResponseWriter, form url.Values) {
	arn := form.Get("LoadBalancerArn")
	lb, ok := s.find(arn)
	if arn == "" || !ok || lb.ARN != arn {
		writeError(w, http.StatusBadRequest, "LoadBalancerNotFound", fmt.Sprintf("Load balancer '%s' not found", arn))
		return
	}
	start := 0
	if m := form.Get("Marker"); m != "" {
		if start, _ = strconv.Atoi(m); start <= 0 || start > len(lb.Listeners) {
			writeError(w, http.StatusBadRequest, "ValidationError", "Invalid marker")
			return
		}
	}
	size := len(lb.Listeners)
	if p := form.Get("PageSize"); p != "" {
		size, _ = strconv.Atoi(p)
	}
	if size < 1 {
		size = 1
	}
	out := describeListeners{Xmlns: xmlns, RequestID: "fake-request"}
	end := min(start+size, len(lb.Listeners))
	for _, l := range lb.Listeners[start:end] {
		out.Listeners = append(out.Listeners, listenerMember{ListenerArn: l.ARN, LoadBalancerArn: lb.ARN, Port: l.Port, Protocol: l.Protocol})
	}
	if end < len(lb.Listeners) {
		out.NextMarker = strconv.Itoa(end)
	}
	w.Header().Set("Content-Type", "text/xml")
	_ = xml.NewEncoder(w).Encode(out)
}

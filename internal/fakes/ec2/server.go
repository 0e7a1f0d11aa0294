package ec2

import (
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// apiVersion is the EC2 API version the SDK sends and answers are
// namespaced with.
const apiVersion = "2016-11-15"

const xmlns = "http://ec2.amazonaws.com/doc/" + apiVersion + "/"

// Subnet is a subnet the fake knows.
type Subnet struct {
	ID, VPC, AZ, CIDR string
	Tags              map[string]string
}

// PrefixList is a managed prefix list the fake knows.
type PrefixList struct {
	ID, Name, Owner string
}

// Server is a fake EC2 endpoint.
type Server struct {
	URL    string
	Region string
	srv    *httptest.Server

	mu          sync.Mutex
	subnets     []Subnet
	prefixLists []PrefixList
	pageSize    int
	calls       []url.Values
	failNext    map[string]string // action -> error code
}

// New starts a fake EC2 for region with AWS's CloudFront origin-facing
// prefix list. Close it when done.
func New(region string) *Server {
	s := &Server{Region: region, failNext: map[string]string{}, prefixLists: []PrefixList{
		{ID: "pl-3b927c52", Name: "com.amazonaws.global.cloudfront.origin-facing", Owner: "AWS"},
		{ID: "pl-63a5400a", Name: "com.amazonaws." + region + ".s3", Owner: "AWS"},
	}}
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// AddSubnet adds a subnet.
func (s *Server) AddSubnet(sub Subnet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subnets = append(s.subnets, sub)
}

// SetPrefixLists replaces the region's managed prefix lists.
func (s *Server) SetPrefixLists(lists ...PrefixList) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prefixLists = lists
}

// PageSize makes Describe calls answer at most n items a page (with a
// nextToken), as EC2 does when MaxResults is smaller than the result.
func (s *Server) PageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

// FailNext makes the next call of action fail with the error code
// (UnauthorizedOperation, for instance).
func (s *Server) FailNext(action, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext[action] = code
}

// Calls returns the parameters of every call received.
func (s *Server) Calls() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// errorResponse is EC2's error shape, unlike the other query services'
// <ErrorResponse>.
type errorResponse struct {
	XMLName   xml.Name `xml:"Response"`
	Code      string   `xml:"Errors>Error>Code"`
	Message   string   `xml:"Errors>Error>Message"`
	RequestID string   `xml:"RequestID"`
}

type apiError struct {
	status        int
	code, message string
}

func badRequest(code, format string, a ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, message: fmt.Sprintf(format, a...)}
}

type xmlTag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type xmlSubnet struct {
	SubnetID         string   `xml:"subnetId"`
	SubnetArn        string   `xml:"subnetArn"`
	State            string   `xml:"state"`
	VpcID            string   `xml:"vpcId"`
	CidrBlock        string   `xml:"cidrBlock"`
	AvailabilityZone string   `xml:"availabilityZone"`
	Tags             []xmlTag `xml:"tagSet>item"`
}

type describeSubnets struct {
	XMLName   xml.Name    `xml:"DescribeSubnetsResponse"`
	Xmlns     string      `xml:"xmlns,attr"`
	RequestID string      `xml:"requestId"`
	Subnets   []xmlSubnet `xml:"subnetSet>item"`
	NextToken string      `xml:"nextToken,omitempty"`
}

type xmlPrefixList struct {
	PrefixListID   string `xml:"prefixListId"`
	AddressFamily  string `xml:"addressFamily"`
	State          string `xml:"state"`
	PrefixListArn  string `xml:"prefixListArn"`
	PrefixListName string `xml:"prefixListName"`
	MaxEntries     int    `xml:"maxEntries"`
	Version        int    `xml:"version"`
	OwnerID        string `xml:"ownerId"`
}

type describePrefixLists struct {
	XMLName     xml.Name        `xml:"DescribeManagedPrefixListsResponse"`
	Xmlns       string          `xml:"xmlns,attr"`
	RequestID   string          `xml:"requestId"`
	PrefixLists []xmlPrefixList `xml:"prefixListSet>item"`
	NextToken   string          `xml:"nextToken,omitempty"`
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	var form url.Values
	if err == nil {
		form, err = url.ParseQuery(string(body))
	}
	if err != nil || r.Method != http.MethodPost {
		writeError(w, badRequest("InvalidParameterValue", "a POST with a form-encoded body is required"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, form)
	action := form.Get("Action")
	if v := form.Get("Version"); v != apiVersion {
		writeError(w, badRequest("InvalidParameterValue", "Version %q is not %s", v, apiVersion))
		return
	}
	if code, ok := s.failNext[action]; ok {
		delete(s.failNext, action)
		writeError(w, &apiError{status: http.StatusForbidden, code: code, message: "You are not authorized to perform this operation."})
		return
	}
	var out any
	var aerr *apiError
	switch action {
	case "DescribeSubnets":
		out, aerr = s.describeSubnets(form)
	case "DescribeManagedPrefixLists":
		out, aerr = s.describePrefixLists(form)
	default:
		aerr = badRequest("InvalidAction", "The action %s is not valid for this web service.", action)
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	_, _ = io.WriteString(w, xml.Header)
	_ = xml.NewEncoder(w).Encode(out)
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(e.status)
	_, _ = io.WriteString(w, xml.Header)
	_ = xml.NewEncoder(w).Encode(errorResponse{Code: e.code, Message: e.message, RequestID: "fake-request"})
}

// filter is one Filter.N of a request: an item matches when the named
// attribute matches any of the values (which may hold * and ? wildcards);
// an item must match every filter.
type filter struct {
	name   string
	values []*regexp.Regexp
}

// filters reads Filter.N.Name and Filter.N.Value.M.
func filters(form url.Values) []filter {
	var out []filter
	for n := 1; ; n++ {
		name := form.Get(fmt.Sprintf("Filter.%d.Name", n))
		if name == "" {
			return out
		}
		f := filter{name: name}
		for m := 1; ; m++ {
			key := fmt.Sprintf("Filter.%d.Value.%d", n, m)
			if _, ok := form[key]; !ok {
				break
			}
			f.values = append(f.values, wildcard(form.Get(key)))
		}
		out = append(out, f)
	}
}

// wildcard compiles an EC2 filter value: * is any run of characters, ?
// any one.
func wildcard(v string) *regexp.Regexp {
	q := regexp.QuoteMeta(v)
	q = strings.ReplaceAll(q, `\*`, ".*")
	q = strings.ReplaceAll(q, `\?`, ".")
	return regexp.MustCompile("^" + q + "$")
}

func (f filter) matchAny(vals ...string) bool {
	for _, re := range f.values {
		for _, v := range vals {
			if re.MatchString(v) {
				return true
			}
		}
	}
	return false
}

// listParam reads a flat list parameter (SubnetId.1, SubnetId.2, ...).
func listParam(form url.Values, name string) []string {
	var out []string
	for n := 1; form.Has(fmt.Sprintf("%s.%d", name, n)); n++ {
		out = append(out, form.Get(fmt.Sprintf("%s.%d", name, n)))
	}
	return out
}

// page cuts items at NextToken (an offset here; opaque to clients) to at
// most MaxResults or the server's page size.
func page[T any](s *Server, form url.Values, items []T) ([]T, string, *apiError) {
	start := 0
	if t := form.Get("NextToken"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", badRequest("InvalidNextToken", "The token '%s' is invalid.", t)
		}
		start = n
	}
	size := s.pageSize
	if v := form.Get("MaxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 5 || n > 1000 {
			return nil, "", badRequest("InvalidParameterValue", "Value ( %s ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.", v)
		}
		if size == 0 || n < size {
			size = n
		}
	}
	if size == 0 || start+size >= len(items) {
		return items[start:], "", nil
	}
	return items[start : start+size], strconv.Itoa(start + size), nil
}

func (s *Server) describeSubnets(form url.Values) (any, *apiError) {
	fs := filters(form)
	for _, f := range fs {
		switch {
		case f.name == "vpc-id", f.name == "subnet-id", f.name == "availability-zone", f.name == "tag-key", strings.HasPrefix(f.name, "tag:"):
		default:
			return nil, badRequest("InvalidParameterValue", "The filter '%s' is invalid", f.name)
		}
	}
	ids := listParam(form, "SubnetId")
	var matched []xmlSubnet
	for _, sub := range s.subnets {
		if len(ids) > 0 && !slices.Contains(ids, sub.ID) || !subnetMatches(sub, fs) {
			continue
		}
		x := xmlSubnet{SubnetID: sub.ID, State: "available", VpcID: sub.VPC, CidrBlock: sub.CIDR, AvailabilityZone: sub.AZ,
			SubnetArn: fmt.Sprintf("arn:aws:ec2:%s:123456789012:subnet/%s", s.Region, sub.ID)}
		for _, k := range sortedKeys(sub.Tags) {
			x.Tags = append(x.Tags, xmlTag{Key: k, Value: sub.Tags[k]})
		}
		matched = append(matched, x)
	}
	for _, id := range ids {
		if !slices.ContainsFunc(s.subnets, func(sub Subnet) bool { return sub.ID == id }) {
			return nil, badRequest("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", id)
		}
	}
	items, next, err := page(s, form, matched)
	if err != nil {
		return nil, err
	}
	return describeSubnets{Xmlns: xmlns, RequestID: "fake-request", Subnets: items, NextToken: next}, nil
}

func subnetMatches(sub Subnet, fs []filter) bool {
	for _, f := range fs {
		var ok bool
		switch {
		case f.name == "vpc-id":
			ok = f.matchAny(sub.VPC)
		case f.name == "subnet-id":
			ok = f.matchAny(sub.ID)
		case f.name == "availability-zone":
			ok = f.matchAny(sub.AZ)
		case f.name == "tag-key":
			ok = f.matchAny(sortedKeys(sub.Tags)...)
		default: // tag:<key>
			v, has := sub.Tags[strings.TrimPrefix(f.name, "tag:")]
			ok = has && f.matchAny(v)
		}
		if !ok {
			return false
		}
	}
	return true
}

func (s *Server) describePrefixLists(form url.Values) (any, *apiError) {
	fs := filters(form)
	for _, f := range fs {
		switch f.name {
		case "prefix-list-name", "prefix-list-id", "owner-id":
		default:
			return nil, badRequest("InvalidParameterValue", "The filter '%s' is invalid", f.name)
		}
	}
	ids := listParam(form, "PrefixListId")
	var matched []xmlPrefixList
	for _, pl := range s.prefixLists {
		if len(ids) > 0 && !slices.Contains(ids, pl.ID) || !prefixListMatches(pl, fs) {
			continue
		}
		matched = append(matched, xmlPrefixList{PrefixListID: pl.ID, PrefixListName: pl.Name, OwnerID: pl.Owner,
			AddressFamily: "IPv4", State: "create-complete", MaxEntries: 55, Version: 1,
			PrefixListArn: fmt.Sprintf("arn:aws:ec2:%s:aws:prefix-list/%s", s.Region, pl.ID)})
	}
	items, next, err := page(s, form, matched)
	if err != nil {
		return nil, err
	}
	return describePrefixLists{Xmlns: xmlns, RequestID: "fake-request", PrefixLists: items, NextToken: next}, nil
}

func prefixListMatches(pl PrefixList, fs []filter) bool {
	for _, f := range fs {
		v := map[string]string{"prefix-list-name": pl.Name, "prefix-list-id": pl.ID, "owner-id": pl.Owner}[f.name]
		if !f.matchAny(v) {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

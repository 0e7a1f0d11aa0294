package cloudformation

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/autopilot-dev/autopilot/internal/deploy/cfn"
)

// Call is one request the fake received.
type Call struct {
	Action string
	Params url.Values
	Time   time.Time
}

// StackName returns the stack the call was about, when it names one.
func (c Call) StackName() string { return c.Params.Get("StackName") }

// Server is a fake CloudFormation endpoint. Point the SDK's BaseEndpoint (or
// AWS_ENDPOINT_URL_CLOUDFORMATION) at URL.
type Server struct {
	URL string

	srv  *httptest.Server
	opts options

	mu         sync.Mutex
	seq        int
	calls      []Call
	stacks     map[string]*stack // by name; deleted stacks are removed
	changeSets map[string]*changeSet
	throttle   map[string]int
	failNext   map[string][]*APIError
	lose       map[string]int
	failRes    map[string]map[string]string // stack -> logical ID -> reason
	failCS     map[string]string            // stack -> reason
	stackSets  map[string][]stackSetInstance
}

type options struct {
	region, account string
	createDelay     time.Duration
	execDelay       time.Duration
	pageSize        int
	client          *http.Client
}

// Option configures a Server.
type Option func(*options)

// WithCreateDelay sets how long change sets stay CREATE_IN_PROGRESS (default 0).
func WithCreateDelay(d time.Duration) Option { return func(o *options) { o.createDelay = d } }

// WithExecDelay sets how long an execution or deletion runs before it
// completes (default 300ms); its events are spread over that time.
func WithExecDelay(d time.Duration) Option { return func(o *options) { o.execDelay = d } }

// WithPageSize sets how many changes or events one page holds (default 100).
func WithPageSize(n int) Option { return func(o *options) { o.pageSize = n } }

// WithRegion sets the region used in ARNs (default us-east-1).
func WithRegion(r string) Option { return func(o *options) { o.region = r } }

// WithAccount sets the account used in ARNs (default 111111111111).
func WithAccount(a string) Option { return func(o *options) { o.account = a } }

// WithHTTPClient sets the client that fetches TemplateURLs (default
// http.DefaultClient).
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.client = c } }

// New starts a fake CloudFormation endpoint. Close it when done.
func New(opts ...Option) *Server {
	s := &Server{
		opts:       options{region: "us-east-1", account: "111111111111", execDelay: 300 * time.Millisecond, pageSize: 100, client: http.DefaultClient},
		stacks:     map[string]*stack{},
		changeSets: map[string]*changeSet{},
		throttle:   map[string]int{},
		failNext:   map[string][]*APIError{},
		lose:       map[string]int{},
		failRes:    map[string]map[string]string{},
		failCS:     map[string]string{},
		stackSets:  map[string][]stackSetInstance{},
	}
	for _, o := range opts {
		o(&s.opts)
	}
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Throttle makes the next n calls of action fail with Throttling.
func (s *Server) Throttle(action string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle[action] += n
}

// FailNext makes the next call of action fail with e.
func (s *Server) FailNext(action string, e *APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext[action] = append(s.failNext[action], e)
}

// LoseResponse makes the next n calls of action take effect and then answer
// with an InternalFailure, as when a response is lost on the way back.
func (s *Server) LoseResponse(action string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lose[action] += n
}

// FailResource makes the next execution on stack fail at logicalID with
// reason, and roll back.
func (s *Server) FailResource(stackName, logicalID, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failRes[stackName] == nil {
		s.failRes[stackName] = map[string]string{}
	}
	s.failRes[stackName][logicalID] = reason
}

// FailChangeSet makes the next change set for stack end FAILED with reason.
func (s *Server) FailChangeSet(stackName, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failCS[stackName] = reason
}

// Seed describes a stack that exists before the test starts.
type Seed struct {
	Name       string
	Status     string // default CREATE_COMPLETE
	Reason     string
	Template   string
	Parameters map[string]string
	Tags       map[string]string
	// BusyFor keeps an *_IN_PROGRESS Status for this long, then the stack
	// settles in BusyThen (default UPDATE_COMPLETE).
	BusyFor  time.Duration
	BusyThen string
}

// SeedStack creates a stack directly, as if deployed earlier.
func (s *Server) SeedStack(seed Seed) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.newStack(seed.Name)
	st.status = seed.Status
	if st.status == "" {
		st.status = "CREATE_COMPLETE"
	}
	st.reason = seed.Reason
	if seed.Template != "" {
		t, err := cfn.Parse([]byte(seed.Template))
		if err != nil {
			return fmt.Errorf("seed %s: %w", seed.Name, err)
		}
		st.body, st.tmpl = []byte(seed.Template), t
	}
	st.params, st.tags = copyMap(seed.Parameters), copyMap(seed.Tags)
	if seed.BusyFor > 0 {
		st.busyUntil = time.Now().Add(seed.BusyFor)
		st.busyThen = seed.BusyThen
		if st.busyThen == "" {
			st.busyThen = "UPDATE_COMPLETE"
		}
	}
	return nil
}

// Calls returns every call received so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Count returns how many calls of action were received (all actions when
// action is empty).
func (s *Server) Count(action string) int {
	n := 0
	for _, c := range s.Calls() {
		if action == "" || c.Action == action {
			n++
		}
	}
	return n
}

// StackStatus returns a stack's status, or "" when it does not exist.
func (s *Server) StackStatus(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(time.Now())
	if st := s.stacks[name]; st != nil {
		return st.status
	}
	return ""
}

// StackTemplate returns a stack's deployed template body.
func (s *Server) StackTemplate(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(time.Now())
	if st := s.stacks[name]; st != nil {
		return string(st.body)
	}
	return ""
}

// ChangeSets returns the names of the change sets that exist for a stack.
func (s *Server) ChangeSets(stackName string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, cs := range s.changeSets {
		if cs.stackName == stackName && cs.parentID == "" {
			out = append(out, cs.name)
		}
	}
	return out
}

// Executions returns how many change sets were executed on a stack.
func (s *Server) Executions(stackName string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.stacks[stackName]; st != nil {
		return st.executions
	}
	return 0
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, &APIError{Status: http.StatusMethodNotAllowed, Code: "InvalidAction", Message: "only POST is supported"})
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, validation("reading request: %v", err))
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeError(w, validation("malformed query string: %v", err))
		return
	}
	action := form.Get("Action")

	s.mu.Lock()
	s.calls = append(s.calls, Call{Action: action, Params: form, Time: time.Now()})
	if s.throttle[action] > 0 {
		s.throttle[action]--
		s.mu.Unlock()
		writeError(w, Throttling())
		return
	}
	if q := s.failNext[action]; len(q) > 0 {
		s.failNext[action] = q[1:]
		s.mu.Unlock()
		writeError(w, q[0])
		return
	}
	lose := false
	if s.lose[action] > 0 {
		s.lose[action]--
		lose = true
	}
	s.mu.Unlock()

	var (
		result any
		apiErr *APIError
	)
	switch action {
	case "CreateChangeSet":
		// Fetching a TemplateURL happens before taking the lock.
		result, apiErr = s.createChangeSet(form)
	default:
		s.mu.Lock()
		s.settle(time.Now())
		result, apiErr = s.dispatch(action, form)
		s.mu.Unlock()
	}
	if lose && apiErr == nil {
		apiErr = &APIError{Status: http.StatusInternalServerError, Type: "Receiver", Code: "InternalFailure", Message: "The request processing has failed because of an unknown error, exception or failure."}
	}
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	writeResult(w, action, result)
}

func (s *Server) dispatch(action string, form url.Values) (any, *APIError) {
	switch action {
	case "DescribeChangeSet":
		return s.describeChangeSet(form)
	case "ExecuteChangeSet":
		return s.executeChangeSet(form)
	case "DeleteChangeSet":
		return s.deleteChangeSet(form)
	case "ListChangeSets":
		return s.listChangeSets(form)
	case "DescribeStacks":
		return s.describeStacks(form)
	case "DescribeStackEvents":
		return s.describeStackEvents(form)
	case "GetTemplate":
		return s.getTemplate(form)
	case "DescribeStackResource":
		return s.describeStackResource(form)
	case "DeleteStack":
		return s.deleteStack(form)
	case "ListStackInstances":
		return s.listStackInstances(form)
	}
	return nil, &APIError{Status: http.StatusBadRequest, Type: "Sender", Code: "InvalidAction",
		Message: fmt.Sprintf("The action %s is not valid for this web service.", action)}
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func isInProgress(status string) bool { return strings.HasSuffix(status, "_IN_PROGRESS") }

package cloudformation

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/autopilot-dev/autopilot/internal/fakes/awsquery"
)

const xmlns = "http://cloudformation.amazonaws.com/doc/2010-05-15/"

// APIError is an error response in the query protocol's shape.
type APIError struct {
	Status  int    // HTTP status, 400 for most
	Type    string // Sender or Receiver
	Code    string // ValidationError, Throttling, ...
	Message string
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

func validation(format string, args ...any) *APIError {
	return &APIError{Status: http.StatusBadRequest, Type: "Sender", Code: "ValidationError", Message: fmt.Sprintf(format, args...)}
}

// Throttling is the error CloudFormation returns when calls come too fast.
func Throttling() *APIError {
	return &APIError{Status: http.StatusBadRequest, Type: "Sender", Code: "Throttling", Message: "Rate exceeded"}
}

type responseMetadata struct {
	RequestID string `xml:"RequestId"`
}

func requestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func writeError(w http.ResponseWriter, e *APIError) {
	id := requestID()
	w.Header().Set("X-Amzn-Requestid", id)
	awsquery.WriteError(w, e.Status, xmlns, e.Type, e.Code, e.Message, id)
}

// writeResult wraps result in <ActionResponse><ActionResult>…, as the query
// protocol does.
func writeResult(w http.ResponseWriter, action string, result any) {
	id := requestID()
	type envelope struct {
		XMLName  xml.Name
		Xmlns    string `xml:"xmlns,attr"`
		Result   any
		Metadata responseMetadata `xml:"ResponseMetadata"`
	}
	env := envelope{XMLName: xml.Name{Local: action + "Response"}, Xmlns: xmlns, Metadata: responseMetadata{RequestID: id}}
	if result != nil {
		env.Result = wrapped{name: action + "Result", v: result}
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", id)
	_ = xml.NewEncoder(w).Encode(env)
}

// wrapped encodes v under an element named name.
type wrapped struct {
	name string
	v    any
}

func (w wrapped) MarshalXML(e *xml.Encoder, _ xml.StartElement) error {
	return e.EncodeElement(w.v, xml.StartElement{Name: xml.Name{Local: w.name}})
}

func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// members reads a query-protocol list: Prefix.member.1.Field, ...
func members(form url.Values, prefix string) []map[string]string {
	byIndex := map[int]map[string]string{}
	for k, vs := range form {
		rest, ok := strings.CutPrefix(k, prefix+".member.")
		if !ok {
			continue
		}
		idx, field, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(idx)
		if err != nil {
			continue
		}
		if byIndex[n] == nil {
			byIndex[n] = map[string]string{}
		}
		byIndex[n][field] = vs[0]
	}
	idx := make([]int, 0, len(byIndex))
	for n := range byIndex {
		idx = append(idx, n)
	}
	sort.Ints(idx)
	out := make([]map[string]string, 0, len(idx))
	for _, n := range idx {
		out = append(out, byIndex[n])
	}
	return out
}

// Wire shapes of the results, named as the CloudFormation API names them.

type xmlParameter struct {
	ParameterKey   string `xml:"ParameterKey"`
	ParameterValue string `xml:"ParameterValue"`
}

type xmlTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type xmlTarget struct {
	Attribute           string `xml:"Attribute"`
	Name                string `xml:"Name,omitempty"`
	Path                string `xml:"Path,omitempty"`
	RequiresRecreation  string `xml:"RequiresRecreation,omitempty"`
	AttributeChangeType string `xml:"AttributeChangeType,omitempty"`
	BeforeValue         string `xml:"BeforeValue,omitempty"`
	AfterValue          string `xml:"AfterValue,omitempty"`
}

type xmlDetail struct {
	Target        xmlTarget `xml:"Target"`
	Evaluation    string    `xml:"Evaluation"`
	ChangeSource  string    `xml:"ChangeSource"`
	CausingEntity string    `xml:"CausingEntity,omitempty"`
}

type xmlResourceChange struct {
	Action             string      `xml:"Action"`
	LogicalResourceID  string      `xml:"LogicalResourceId"`
	PhysicalResourceID string      `xml:"PhysicalResourceId,omitempty"`
	ResourceType       string      `xml:"ResourceType"`
	Replacement        string      `xml:"Replacement,omitempty"`
	PolicyAction       string      `xml:"PolicyAction,omitempty"`
	Scope              []string    `xml:"Scope>member"`
	Details            []xmlDetail `xml:"Details>member"`
	ChangeSetID        string      `xml:"ChangeSetId,omitempty"`
	BeforeContext      string      `xml:"BeforeContext,omitempty"`
	AfterContext       string      `xml:"AfterContext,omitempty"`
}

type xmlChange struct {
	Type           string            `xml:"Type"`
	HookInvocation int               `xml:"HookInvocationCount,omitempty"`
	ResourceChange xmlResourceChange `xml:"ResourceChange"`
}

type describeChangeSetResult struct {
	ChangeSetName       string         `xml:"ChangeSetName"`
	ChangeSetID         string         `xml:"ChangeSetId"`
	StackID             string         `xml:"StackId"`
	StackName           string         `xml:"StackName"`
	Description         string         `xml:"Description,omitempty"`
	Parameters          []xmlParameter `xml:"Parameters>member"`
	CreationTime        string         `xml:"CreationTime"`
	ExecutionStatus     string         `xml:"ExecutionStatus"`
	Status              string         `xml:"Status"`
	StatusReason        string         `xml:"StatusReason,omitempty"`
	Capabilities        []string       `xml:"Capabilities>member"`
	Tags                []xmlTag       `xml:"Tags>member"`
	Changes             []xmlChange    `xml:"Changes>member"`
	IncludeNestedStacks bool           `xml:"IncludeNestedStacks"`
	ParentChangeSetID   string         `xml:"ParentChangeSetId,omitempty"`
	RootChangeSetID     string         `xml:"RootChangeSetId,omitempty"`
	NextToken           string         `xml:"NextToken,omitempty"`
}

type xmlStack struct {
	StackID           string         `xml:"StackId"`
	StackName         string         `xml:"StackName"`
	ChangeSetID       string         `xml:"ChangeSetId,omitempty"`
	Parameters        []xmlParameter `xml:"Parameters>member"`
	CreationTime      string         `xml:"CreationTime"`
	LastUpdatedTime   string         `xml:"LastUpdatedTime,omitempty"`
	StackStatus       string         `xml:"StackStatus"`
	StackStatusReason string         `xml:"StackStatusReason,omitempty"`
	DisableRollback   bool           `xml:"DisableRollback"`
	Capabilities      []string       `xml:"Capabilities>member"`
	Tags              []xmlTag       `xml:"Tags>member"`
	Outputs           []xmlOutput    `xml:"Outputs>member"`
	ParentID          string         `xml:"ParentId,omitempty"`
	RootID            string         `xml:"RootId,omitempty"`
}

type xmlOutput struct {
	OutputKey   string `xml:"OutputKey"`
	OutputValue string `xml:"OutputValue"`
	Description string `xml:"Description,omitempty"`
	ExportName  string `xml:"ExportName,omitempty"`
}

type xmlEvent struct {
	StackID              string `xml:"StackId"`
	EventID              string `xml:"EventId"`
	StackName            string `xml:"StackName"`
	LogicalResourceID    string `xml:"LogicalResourceId"`
	PhysicalResourceID   string `xml:"PhysicalResourceId,omitempty"`
	ResourceType         string `xml:"ResourceType"`
	Timestamp            string `xml:"Timestamp"`
	ResourceStatus       string `xml:"ResourceStatus"`
	ResourceStatusReason string `xml:"ResourceStatusReason,omitempty"`
	ClientRequestToken   string `xml:"ClientRequestToken,omitempty"`
}

type xmlChangeSetSummary struct {
	StackID         string `xml:"StackId"`
	StackName       string `xml:"StackName"`
	ChangeSetID     string `xml:"ChangeSetId"`
	ChangeSetName   string `xml:"ChangeSetName"`
	ExecutionStatus string `xml:"ExecutionStatus"`
	Status          string `xml:"Status"`
	StatusReason    string `xml:"StatusReason,omitempty"`
	CreationTime    string `xml:"CreationTime"`
}

package manifest

import (
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/autopilot-dev/autopilot/internal/workspace"
)

// Workload is a decoded workload manifest: exactly one of RDWS, ECS and
// Static is set, by Kind.
type Workload struct {
	Kind   workspace.Kind
	RDWS   *RequestDrivenWebService
	ECS    *ECSWorkload
	Static *StaticSite
	// Doc is the resolved manifest the model was decoded from; render
	// writes it into each template's Metadata.
	Doc *yaml.Node
}

// DecodeWorkload decodes a resolved workload manifest of kind. The error
// names the line of the first value that does not fit the model.
func DecodeWorkload(kind workspace.Kind, doc *yaml.Node) (*Workload, error) {
	w := &Workload{Kind: kind, Doc: doc}
	var err error
	switch kind {
	case workspace.RequestDrivenWebService:
		w.RDWS = &RequestDrivenWebService{}
		err = decode(doc, w.RDWS)
	case workspace.LoadBalancedWebService, workspace.BackendService, workspace.WorkerService, workspace.ScheduledJob:
		w.ECS = &ECSWorkload{}
		err = decode(doc, w.ECS)
	case workspace.StaticSite:
		w.Static = &StaticSite{}
		err = decode(doc, w.Static)
	default:
		return nil, fmt.Errorf("%s is not a workload type", kind)
	}
	if err != nil {
		return nil, err
	}
	return w, nil
}

// DecodeEnvironment decodes a resolved environment manifest.
func DecodeEnvironment(doc *yaml.Node) (*Environment, error) {
	var e Environment
	if err := decode(doc, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// Topics are the names of the topics a workload publishes.
func (w *Workload) Topics() []Topic {
	switch {
	case w.RDWS != nil:
		return w.RDWS.Publish.Topics
	case w.ECS != nil:
		return w.ECS.Publish.Topics
	}
	return nil
}

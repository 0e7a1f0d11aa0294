package manifest

import (
	"errors"
	"fmt"
	"strings"

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
// names the line of the first value that does not fit the model. With an
// error, the workload is the model without the values that did not fit
// (lint's rules read the rest), or nil when it is not a workload type.
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
	if _, ok := err.(*yaml.TypeError); ok {
		return w, plainError(err)
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
		return nil, plainError(err)
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

// Decoding goes on past a value that does not fit the model, so that lint
// reads the rest: the model's own decoders return such a value's error as
// a *yaml.TypeError item, which yaml.v3 collects, marked so that the error
// a manifest gets is the first of them, as if decoding had stopped there.
const valueErrorMark = "\x00"

// valueErrorf is the error of a value one of the model's decoders cannot
// read.
func valueErrorf(format string, args ...any) error {
	return &yaml.TypeError{Errors: []string{valueErrorMark + fmt.Sprintf(format, args...)}}
}

// plainError is the error decoding reports: the first value error of the
// model's decoders, else yaml.v3's errors of values of the wrong type.
func plainError(err error) error {
	te, ok := err.(*yaml.TypeError)
	if !ok {
		return err
	}
	for _, e := range te.Errors {
		if msg, ok := strings.CutPrefix(e, valueErrorMark); ok {
			return errors.New(msg)
		}
	}
	return err
}

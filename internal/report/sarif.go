package report

import (
	"encoding/json"
	"io"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/autopilot-dev/autopilot/internal/diag"
)

// SARIF 2.1.0, the subset code scanning reads. Field names follow the
// OASIS specification; see internal/report/README.md.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool               sarifTool                   `json:"tool"`
	OriginalURIBaseIDs map[string]sarifArtifactLoc `json:"originalUriBaseIds,omitempty"`
	Results            []sarifResult               `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri,omitempty"`
	Version        string      `json:"version,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string        `json:"id"`
	ShortDescription *sarifMessage `json:"shortDescription,omitempty"`
	Help             *sarifMessage `json:"help,omitempty"`
	DefaultConfig    sarifConfig   `json:"defaultConfiguration"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID     string          `json:"ruleId"`
	RuleIndex  int             `json:"ruleIndex"`
	Level      string          `json:"level"`
	Message    sarifMessage    `json:"message"`
	Locations  []sarifLocation `json:"locations"`
	Properties map[string]any  `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifactLoc `json:"artifactLocation"`
	Region           *sarifRegion     `json:"region,omitempty"`
}

type sarifArtifactLoc struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

// srcRoot is the uriBaseId results are relative to; code scanning resolves
// it to the repository checkout.
const srcRoot = "%SRCROOT%"

func sarifLevel(s diag.Severity) string {
	switch s {
	case diag.Error:
		return "error"
	case diag.Warning:
		return "warning"
	default:
		return "note"
	}
}

func lintSARIF(w io.Writer, l diag.List, o *options) error {
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name:           "autopilot",
			InformationURI: "https://github.com/autopilot-dev/autopilot",
			Version:        o.version,
			Rules:          []sarifRule{},
		}},
		Results: make([]sarifResult, 0, len(l)),
	}
	if o.root != "" {
		run.OriginalURIBaseIDs = map[string]sarifArtifactLoc{srcRoot: {URI: dirURI(o.root)}}
	}
	ruleIndex := map[string]int{}
	for _, d := range l {
		idx, ok := ruleIndex[d.Rule]
		if !ok {
			idx = len(run.Tool.Driver.Rules)
			ruleIndex[d.Rule] = idx
			rule := sarifRule{ID: d.Rule, DefaultConfig: sarifConfig{Level: sarifLevel(d.Severity)}}
			if help := o.ruleHelp[d.Rule]; help != "" {
				rule.Help = &sarifMessage{Text: help}
				rule.ShortDescription = &sarifMessage{Text: firstSentence(help)}
			}
			run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, rule)
		}
		if rule := &run.Tool.Driver.Rules[idx]; rule.Help == nil && d.Fix != "" {
			rule.Help = &sarifMessage{Text: d.Fix} // without given help, the rule's first known fix
		}
		msg := d.Message
		if d.Fix != "" {
			msg += " Fix: " + d.Fix
		}
		if msg == "" {
			msg = d.Rule // SARIF requires a message text
		}
		var loc sarifPhysical
		if rel := d.File; filepath.IsAbs(filepath.FromSlash(rel)) {
			loc.ArtifactLocation.URI = fileURI(rel) // outside the root: no base to be relative to
		} else {
			loc.ArtifactLocation = sarifArtifactLoc{URI: uriPath(rel), URIBaseID: srcRoot}
		}
		if d.Line > 0 {
			loc.Region = &sarifRegion{StartLine: d.Line}
			if d.Column > 0 {
				loc.Region.StartColumn = d.Column
			}
		}
		res := sarifResult{
			RuleID:    d.Rule,
			RuleIndex: idx,
			Level:     sarifLevel(d.Severity),
			Message:   sarifMessage{Text: msg},
			Locations: []sarifLocation{{PhysicalLocation: loc}},
		}
		if d.Env != "" {
			res.Properties = map[string]any{"environment": d.Env}
		}
		run.Results = append(run.Results, res)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	})
}

// fileURI turns an absolute path into a file:// URI.
func fileURI(p string) string {
	p = filepath.ToSlash(p)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows drive letters
	}
	return (&url.URL{Scheme: "file", Path: p}).String()
}

// dirURI is fileURI for a folder: it ends in a slash so that relative URIs
// resolve under it rather than beside it.
func dirURI(dir string) string {
	u := fileURI(dir)
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u
}

// uriPath escapes a slash-separated path as a URI reference (spaces, '%',
// '#' and '?' would otherwise change its meaning).
func uriPath(p string) string {
	return (&url.URL{Path: p}).EscapedPath()
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

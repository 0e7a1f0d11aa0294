package deploy

import (
	"regexp"
	"sort"
	"strings"

	"github.com/autopilot-dev/autopilot/internal/deploy/cfn"
)

// dynamicRef matches CloudFormation dynamic references such as
// {{resolve:secretsmanager:arn:SecretString:password}}.
var dynamicRef = regexp.MustCompile(`\{\{resolve:[^}]*\}\}`)

// masker hides the values of a stack's NoEcho parameters and its dynamic
// references in any text shown to people.
type masker struct {
	secrets []string // longest first, so a secret inside another is masked whole
}

func newMasker(s Stack) *masker {
	m := &masker{}
	t, err := cfn.Parse(s.Template)
	if err != nil {
		return m
	}
	for name := range t.NoEcho() {
		if v := s.Parameters[name]; v != "" {
			m.secrets = append(m.secrets, v)
		}
	}
	sort.Slice(m.secrets, func(i, j int) bool { return len(m.secrets[i]) > len(m.secrets[j]) })
	return m
}

func (m *masker) text(s string) string {
	if s == "" {
		return s
	}
	s = dynamicRef.ReplaceAllString(s, cfn.Masked)
	if m == nil {
		return s
	}
	for _, secret := range m.secrets {
		// Very short values would mask unrelated text; only a whole-value
		// match hides them.
		if len(secret) < 4 {
			if s == secret {
				return cfn.Masked
			}
			continue
		}
		s = strings.ReplaceAll(s, secret, cfn.Masked)
	}
	return s
}

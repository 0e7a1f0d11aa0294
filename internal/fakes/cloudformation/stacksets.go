package cloudformation

import (
	"net/http"
	"net/url"
)

// stackSetInstance is one instance of a StackSet: the stack it deployed in
// an account and region.
type stackSetInstance struct {
	account, region, stackName string
}

// SeedStackSetInstance records that StackSet set has an instance in account
// and region whose stack is stackName (seed it with SeedStack), as Copilot's
// application StackSet ("<app>-infrastructure") has one per region.
func (s *Server) SeedStackSetInstance(set, account, region, stackName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stackSets[set] = append(s.stackSets[set], stackSetInstance{account: account, region: region, stackName: stackName})
}

type xmlStackInstanceSummary struct {
	StackSetID string `xml:"StackSetId"`
	Region     string `xml:"Region"`
	Account    string `xml:"Account"`
	StackID    string `xml:"StackId,omitempty"`
	Status     string `xml:"Status"`
}

// listStackInstances answers ListStackInstances, filtered by
// StackInstanceAccount and StackInstanceRegion as the API filters them.
func (s *Server) listStackInstances(form url.Values) (any, *APIError) {
	name := form.Get("StackSetName")
	if name == "" {
		return nil, validation("StackSetName is a required parameter.")
	}
	instances, ok := s.stackSets[name]
	if !ok {
		return nil, &APIError{Status: http.StatusNotFound, Type: "Sender", Code: "StackSetNotFoundException", Message: "StackSet " + name + " not found"}
	}
	var out struct {
		Summaries []xmlStackInstanceSummary `xml:"Summaries>member"`
	}
	for _, in := range instances {
		if a := form.Get("StackInstanceAccount"); a != "" && a != in.account {
			continue
		}
		if r := form.Get("StackInstanceRegion"); r != "" && r != in.region {
			continue
		}
		sum := xmlStackInstanceSummary{StackSetID: name + ":" + randomID(), Region: in.region, Account: in.account, Status: "CURRENT"}
		if st := s.stacks[in.stackName]; st != nil {
			sum.StackID = st.id
		}
		out.Summaries = append(out.Summaries, sum)
	}
	return out, nil
}

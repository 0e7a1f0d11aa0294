package deploy

import (
	"fmt"
	"strings"
)

// replacedInOneStep says why a stack's change must not run: it removes an
// App Runner service in the same change that creates the ECS Express Mode
// service replacing it, so no reviewed plan ever had both running and
// traffic has nowhere to go if the new service fails. Empty when the change
// is fine. A service moves in two reviewed steps: add Express, then remove
// App Runner.
func replacedInOneStep(changes []ResourceChange) string {
	var added, removed []string
	for _, c := range changes {
		switch {
		case c.Action == ActionAdd && c.ResourceType == "AWS::ECS::ExpressGatewayService":
			added = append(added, c.LogicalID)
		case c.Action == ActionRemove && c.ResourceType == "AWS::AppRunner::Service":
			removed = append(removed, c.LogicalID)
		}
	}
	if len(added) == 0 || len(removed) == 0 {
		return ""
	}
	return fmt.Sprintf("refused: this change creates the ECS Express Mode service %s and removes the App Runner service %s at once; "+
		"deploy the Express service beside App Runner first (x-autopilot.app-runner: keep), check it serves, then remove App Runner in a later change",
		strings.Join(added, ", "), strings.Join(removed, ", "))
}

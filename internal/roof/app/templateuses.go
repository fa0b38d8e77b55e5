package app

import (
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/templates"
)

// templateUses lists, per template id, the policies whose steps send it, so
// that the template store validates a template with the category of every
// policy that sends it (a collection policy's template needs opt-out
// wording even when its file declares no category).
func templateUses(policies []config.Policy) map[string][]templates.Use {
	uses := map[string][]templates.Use{}
	for _, p := range policies {
		seen := map[string]bool{}
		for _, st := range p.Steps {
			if st.Template == "" || seen[st.Template] {
				continue
			}
			seen[st.Template] = true
			uses[st.Template] = append(uses[st.Template], templates.Use{Policy: p.ID, Category: p.Category})
		}
	}
	return uses
}

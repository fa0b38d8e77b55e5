package templates

import (
	"fmt"
	"strings"

	"github.com/forbear/forbear/internal/ground/config"
)

// CheckConfig checks the templates section; each fault names its key. It
// lives here because the section is the rules this package holds every
// template version to (WithMaxSMSSegments, WithOptOutPhrases), so the
// rules for a sound value stay next to their use.
// internal/roof/app.CheckConfig runs it with every other section's.
func CheckConfig(c config.Templates) error {
	var f config.Faults
	if c.MaxSMSSegments < 1 {
		f.Add("templates.max_sms_segments", "must be at least 1")
	}
	if len(c.OptOutPhrases) == 0 {
		f.Add("templates.opt_out_phrases", "must list at least one phrase (collection SMS and email must say how to opt out)")
	}
	for i, p := range c.OptOutPhrases {
		if strings.TrimSpace(p) == "" {
			f.Add(fmt.Sprintf("templates.opt_out_phrases[%d]", i), "must not be blank")
		}
	}
	return f.Err()
}

package templates_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/templates"
)

func TestTemplatesKeys(t *testing.T) {
	t.Parallel()
	def := config.Default().Templates
	if def.MaxSMSSegments != 3 || !reflect.DeepEqual(def.OptOutPhrases, []string{"STOP", "退订"}) {
		t.Fatalf("default templates = %+v, want 3 segments and STOP, 退订", def)
	}

	path := filepath.Join(t.TempDir(), "forbear.yaml")
	if err := os.WriteFile(path, []byte("templates:\n  max_sms_segments: 2\n  opt_out_phrases: [STOP, UNSUBSCRIBE]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadUnchecked(path, []string{"FORBEAR_TEMPLATES_MAX_SMS_SEGMENTS=4"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Templates.MaxSMSSegments != 4 || !reflect.DeepEqual(cfg.Templates.OptOutPhrases, []string{"STOP", "UNSUBSCRIBE"}) {
		t.Fatalf("loaded templates = %+v, want 4 (env beats file) and STOP, UNSUBSCRIBE", cfg.Templates)
	}

	tests := []struct {
		name    string
		modify  func(*config.Templates)
		wantErr string
	}{
		{name: "zero segments", modify: func(c *config.Templates) { c.MaxSMSSegments = 0 }, wantErr: "templates.max_sms_segments: must be at least 1"},
		{name: "no phrases", modify: func(c *config.Templates) { c.OptOutPhrases = nil }, wantErr: "templates.opt_out_phrases: must list at least one"},
		{name: "blank phrase", modify: func(c *config.Templates) { c.OptOutPhrases = []string{"STOP", " "} }, wantErr: "templates.opt_out_phrases[1]: must not be blank"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := config.Default()
			tt.modify(&c.Templates)
			if err := templates.CheckConfig(c.Templates); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("CheckConfig() = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

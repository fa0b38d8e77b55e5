package console

import (
	"regexp"
	"testing"
)

var verb = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z%]`)

// TestCatalogIsComplete: every text exists in both languages, with the
// same formatting verbs in the same order (a missing %s shows as
// "%!s(MISSING)" to a user).
func TestCatalogIsComplete(t *testing.T) {
	for key, texts := range catalog {
		if texts[0] == "" || texts[1] == "" {
			t.Errorf("%s: missing a language: %q", key, texts)
		}
		en, zh := verb.FindAllString(texts[0], -1), verb.FindAllString(texts[1], -1)
		if len(en) != len(zh) {
			t.Errorf("%s: verbs %v in English, %v in Chinese", key, en, zh)
			continue
		}
		for i := range en {
			if en[i] != zh[i] {
				t.Errorf("%s: verbs %v in English, %v in Chinese", key, en, zh)
				break
			}
		}
	}
}

func TestNegotiate(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   Lang
	}{
		{"", English},
		{"zh-CN,zh;q=0.9", Chinese},
		{"zh-Hans-CN", Chinese},
		{"zh-TW", English},
		{"en-GB,zh-CN;q=0.5", English},
		{"fr;q=1, zh;q=0.4", Chinese},
		{"garbage;;;q=x", English},
	} {
		if got := negotiateHeader(tc.header); got != tc.want {
			t.Errorf("Accept-Language %q: %s, want %s", tc.header, got, tc.want)
		}
	}
}

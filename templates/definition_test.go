package templates

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/forbear/forbear/internal/ground/domain"
)

const sampleYAML = `
category: collection
note: test
channels:
  sms:
    en-US: "Hi {{.Borrower.Name}}. Reply STOP to opt out."
  email:
    en-US:
      subject: "Due {{date .Loan.DueDate}}"
      body: "Pay {{money .Loan.AmountDue .Loan.Currency}}. Reply STOP to opt out."
  inapp:
    zh-CN:
      title: "提醒"
      body: "请还款"
`

const sampleJSON = `{"category":"collection","note":"test","channels":{
  "sms":{"en-US":"Hi {{.Borrower.Name}}. Reply STOP to opt out."},
  "email":{"en-US":{"subject":"Due {{date .Loan.DueDate}}","body":"Pay {{money .Loan.AmountDue .Loan.Currency}}. Reply STOP to opt out."}},
  "inapp":{"zh-CN":{"title":"提醒","body":"请还款"}}}}`

func sampleDefinition() Definition {
	return Definition{
		Category: "collection",
		Note:     "test",
		Channels: map[domain.Channel]map[string]Text{
			domain.SMS:   {"en-US": {Body: "Hi {{.Borrower.Name}}. Reply STOP to opt out."}},
			domain.Email: {"en-US": {Subject: "Due {{date .Loan.DueDate}}", Body: "Pay {{money .Loan.AmountDue .Loan.Currency}}. Reply STOP to opt out."}},
			domain.InApp: {"zh-CN": {Subject: "提醒", Body: "请还款"}},
		},
	}
}

func TestParseYAMLAndJSONAgree(t *testing.T) {
	t.Parallel()
	fromYAML, err := ParseYAML([]byte(sampleYAML))
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := ParseJSON([]byte(sampleJSON))
	if err != nil {
		t.Fatal(err)
	}
	want := sampleDefinition()
	if !reflect.DeepEqual(fromYAML, want) {
		t.Errorf("yaml = %#v\nwant %#v", fromYAML, want)
	}
	if !reflect.DeepEqual(fromJSON, want) {
		t.Errorf("json = %#v\nwant %#v", fromJSON, want)
	}
}

func TestDefinitionRoundTrip(t *testing.T) {
	t.Parallel()
	def := sampleDefinition()
	data, err := json.Marshal(def)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"title":"提醒"`) || !strings.Contains(string(data), `"sms":{"en-US":"Hi`) {
		t.Errorf("json shape: %s", data)
	}
	back, err := ParseJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, def) {
		t.Errorf("json round trip = %#v", back)
	}
	y, err := yaml.Marshal(def)
	if err != nil {
		t.Fatal(err)
	}
	back, err = ParseYAML(y)
	if err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	if !reflect.DeepEqual(back, def) {
		t.Errorf("yaml round trip = %#v\n%s", back, y)
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml, json string
	}{
		{"misspelt top key", "chanels: {sms: {en-US: hi}}", `{"chanels":{"sms":{"en-US":"hi"}}}`},
		{"unknown text field", "channels: {email: {en-US: {subject: s, bdy: b}}}", `{"channels":{"email":{"en-US":{"subject":"s","bdy":"b"}}}}`},
		{"subject and title", "channels: {inapp: {en-US: {subject: s, title: t, body: b}}}", `{"channels":{"inapp":{"en-US":{"subject":"s","title":"t","body":"b"}}}}`},
		{"text is a list", "channels: {sms: {en-US: [a, b]}}", `{"channels":{"sms":{"en-US":["a","b"]}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := ParseYAML([]byte(tt.yaml)); err == nil {
				t.Error("ParseYAML accepted it")
			}
			if _, err := ParseJSON([]byte(tt.json)); err == nil {
				t.Error("ParseJSON accepted it")
			}
		})
	}
}

package templates

import (
	"reflect"
	"testing"

	"github.com/forbear/forbear/internal/ground/domain"
)

func TestDiff(t *testing.T) {
	t.Parallel()
	type texts = map[string]Text
	def := func(category string, channels map[domain.Channel]texts) Definition {
		return Definition{Category: category, Channels: channels}
	}
	base := def("collection", map[domain.Channel]texts{
		domain.SMS:   {"en-US": {Body: "Pay now. STOP"}, "zh-CN": {Body: "请还款。退订"}},
		domain.Email: {"en-US": {Subject: "Overdue", Body: "Dear borrower. STOP"}},
	})
	tests := []struct {
		name   string
		before Definition
		after  Definition
		want   []Change
	}{
		{name: "same", before: base, after: base, want: []Change{}},
		{
			name:   "body changed",
			before: base,
			after: def("collection", map[domain.Channel]texts{
				domain.SMS:   {"en-US": {Body: "Please pay. STOP"}, "zh-CN": {Body: "请还款。退订"}},
				domain.Email: {"en-US": {Subject: "Overdue", Body: "Dear borrower. STOP"}},
			}),
			want: []Change{{Channel: "sms", Locale: "en-US", Field: "body", Kind: ChangeChanged, Before: "Pay now. STOP", After: "Please pay. STOP"}},
		},
		{
			name:   "subject changed, locale added and removed",
			before: base,
			after: def("collection", map[domain.Channel]texts{
				domain.SMS:   {"en-US": {Body: "Pay now. STOP"}, "fr-FR": {Body: "Payez. STOP"}},
				domain.Email: {"en-US": {Subject: "Payment overdue", Body: "Dear borrower. STOP"}},
			}),
			want: []Change{
				{Channel: "sms", Locale: "fr-FR", Field: "body", Kind: ChangeAdded, After: "Payez. STOP"},
				{Channel: "sms", Locale: "zh-CN", Field: "body", Kind: ChangeRemoved, Before: "请还款。退订"},
				{Channel: "email", Locale: "en-US", Field: "subject", Kind: ChangeChanged, Before: "Overdue", After: "Payment overdue"},
			},
		},
		{
			name:   "channel added and removed, category changed",
			before: base,
			after: def("agreement", map[domain.Channel]texts{
				domain.SMS:   {"en-US": {Body: "Pay now. STOP"}, "zh-CN": {Body: "请还款。退订"}},
				domain.InApp: {"en-US": {Subject: "Due", Body: "Tap Repay."}},
			}),
			want: []Change{
				{Field: "category", Kind: ChangeChanged, Before: "collection", After: "agreement"},
				{Channel: "email", Locale: "en-US", Field: "subject", Kind: ChangeRemoved, Before: "Overdue"},
				{Channel: "email", Locale: "en-US", Field: "body", Kind: ChangeRemoved, Before: "Dear borrower. STOP"},
				{Channel: "inapp", Locale: "en-US", Field: "title", Kind: ChangeAdded, After: "Due"},
				{Channel: "inapp", Locale: "en-US", Field: "body", Kind: ChangeAdded, After: "Tap Repay."},
			},
		},
		{
			name:   "note added",
			before: base,
			after:  Definition{Category: base.Category, Note: "Friendlier wording", Channels: base.Channels},
			want:   []Change{{Field: "note", Kind: ChangeAdded, After: "Friendlier wording"}},
		},
		{
			name:   "from nothing",
			before: Definition{},
			after:  def("", map[domain.Channel]texts{domain.Voice: {"en-US": {Body: "Hello."}}}),
			want:   []Change{{Channel: "voice", Locale: "en-US", Field: "body", Kind: ChangeAdded, After: "Hello."}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Diff(tt.before, tt.after); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Diff =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

package compliance_test

import (
	"fmt"
	"time"

	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/ground/domain"
)

func ExampleRules_Check() {
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	rules, err := compliance.Compile(config.Compliance{Preset: config.Presets{compliance.PresetCNGBT}}, shanghai)
	if err != nil {
		panic(err)
	}
	b := domain.Borrower{ID: "b1", Timezone: "Asia/Shanghai", Phone: "+8613800138000"}
	rem := domain.Reminder{ID: "L1/overdue/0/sms", LoanID: "L1", Channel: domain.SMS}

	late := time.Date(2026, 5, 5, 22, 30, 0, 0, shanghai)
	d := rules.Check(late, rem, b, compliance.Ledger{})
	fmt.Println(d.Status, d.Rule, d.Until.Format(time.RFC3339))
	fmt.Println(d.Reason)

	morning := time.Date(2026, 5, 6, 8, 0, 0, 0, shanghai)
	fmt.Println(rules.Check(morning, rem, b, compliance.Ledger{}).Allowed)
	// Output:
	// deferred send_window 2026-05-06T08:00:00+08:00
	// send_window[cn-gbt-2025 风控指引, forbear's reading: collection hours]: 22:30 Asia/Shanghai is outside 08:00-22:00; deferred until 2026-05-06T08:00:00+08:00
	// true
}

package templates_test

import (
	"fmt"

	"github.com/forbear/forbear/internal/ground/domain"
	"github.com/forbear/forbear/templates"
)

func ExampleRenderDefinition() {
	def, err := templates.ParseJSON([]byte(`{"category":"collection","channels":{
		"sms":{"en-US":"Hi {{.Borrower.Name}}, {{money .Loan.AmountDue .Loan.Currency}} is due {{date .Loan.DueDate}}. Reply STOP to opt out.",
		       "zh-CN":"{{.Borrower.Name}}您好，{{money .Loan.AmountDue .Loan.Currency}}将于{{date .Loan.DueDate}}到期。回复退订拒收"}}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	data := templates.Sample("zh-CN")
	for _, locale := range []string{"zh-CN", "en-US", "fr-FR"} {
		r, err := templates.RenderDefinition("reminder", def, domain.SMS, locale, data)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s: %s\n", r.Locale, r.Text)
	}
	// Output:
	// zh-CN: Alex Chen您好，¥1,200.00将于2026年3月5日到期。回复退订拒收
	// en-US: Hi Alex Chen, CN¥1,200.00 is due Mar 5, 2026. Reply STOP to opt out.
	// en-US: Hi Alex Chen, CN¥1,200.00 is due Mar 5, 2026. Reply STOP to opt out.
}

func ExampleDefinition_Validate() {
	def, _ := templates.ParseYAML([]byte(`
category: collection
channels:
  sms:
    en-US: "Please pay {{money .Loan.AmountDue .Loan.Currency}} today."
`))
	fmt.Println(def.Validate())
	// Output:
	// channel sms, locale en-US: collection sms must tell the borrower how to opt out (contain one of "STOP", "退订")
}

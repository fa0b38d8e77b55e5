package templates_test

import (
	"fmt"
	"strings"

	"github.com/forbear/forbear/templates"
)

func ExampleSegments() {
	for _, text := range []string{
		"Your payment of $1,200.00 is due on Mar 5. Reply STOP to opt out.",
		strings.Repeat("a", 161),
		"Your payment is due today… Reply STOP to opt out.", // the ellipsis is not GSM-7
		"您的还款将于3月5日到期。回复退订拒收",
	} {
		enc, n := templates.Segments(text)
		fmt.Println(enc, n)
	}
	// Output:
	// GSM-7 1
	// GSM-7 2
	// UCS-2 1
	// UCS-2 1
}

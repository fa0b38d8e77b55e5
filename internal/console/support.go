package console

// SupportDeps is what the support pages (search, borrower page, mutes,
// inbox) read and change.
type SupportDeps struct{}

// supportRoutes registers the support pages (role support).
func (c *Console) supportRoutes() {}

// supportTexts are the support pages' texts: English, Simplified Chinese.
var supportTexts = map[string][2]string{}

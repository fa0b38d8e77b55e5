package console

// OpsDeps is what the ops pages (templates, policies) read and change.
type OpsDeps struct{}

// opsRoutes registers the ops pages (role ops).
func (c *Console) opsRoutes() {}

// opsTexts are the ops pages' texts: English, Simplified Chinese.
var opsTexts = map[string][2]string{}

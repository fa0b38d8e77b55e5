// Package templates stores, validates and renders the text forbear shows
// borrowers.
//
// A template is a Definition: for each channel (sms, voice, email, inapp)
// and locale ("zh-CN", "en-US") a Go text/template source. Email texts have
// a subject and a body, in-app texts a title and a body. Files named
// `<id>.yaml` and the JSON body of PUT /v1/templates/{id} share one shape
// (spec §6); ParseYAML and ParseJSON read them.
//
// Validation runs before anything is saved: every text must parse and
// render against a complete Sample context with missingkey=error (a
// misspelt field fails on save, not on the send path), email texts need a
// subject and a body, and collection SMS and email must tell the borrower
// how to opt out. A template is collection when its own category says so or
// when a collection policy sends it (WithUses): the policy decides what a
// message is, whatever the file declares. Problems are *ValidationError values naming the channel,
// the locale and the problem.
//
// SMS texts must also fit a segment limit (default DefaultMaxSMSSegments)
// when rendered with LongSample's realistically long values; Segments
// counts GSM-7 and UCS-2 segments the way carriers bill them.
//
// Rendering offers the helpers money, date and days, formatted for the
// locale of the text being rendered. Values of the Context are data: text
// and html escaping aside, nothing in them is ever interpreted, so a
// borrower named "{{.Loan.ID}}" is greeted by that name.
//
// A Store keeps immutable numbered versions in the JetStream KV bucket
// store.TemplatesBucket, keyed `<token>.v<n>`, and a live pointer
// `<token>.live` per template. A KV watch keeps every instance's cache of
// live, pre-parsed templates current, so Render is a map lookup and a
// template execution with no network round trip, and a publish or rollback
// reaches every instance within moments, without a restart. Diff compares
// two versions text by text; ContextFor builds the Context of a reminder
// from forbear's records.
package templates

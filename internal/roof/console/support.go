package console

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/forbear/forbear/channels/inapp"
	"github.com/forbear/forbear/dispatcher/intake"
	"github.com/forbear/forbear/internal/audit"
	"github.com/forbear/forbear/internal/ground/clock"
	"github.com/forbear/forbear/internal/ground/logging"
	"github.com/forbear/forbear/internal/ground/store"
	"github.com/forbear/forbear/internal/ground/tz"
	"github.com/forbear/forbear/internal/roof/auth"
	"github.com/forbear/forbear/internal/support"
)

// SupportDeps is what the support pages (search, borrower page, mutes,
// inbox) read and change. Each is what the matching API route calls, so a
// page shows what the API answers and a rule lives in one place. Without
// Borrowers every support page answers 404; without Intake the borrower
// page has no mute form, without Deliveries no delivery timeline, and
// without Inbox the inbox page answers 404.
type SupportDeps struct {
	// Borrowers answers searches and assembles the borrower view
	// (GET /v1/search, GET /v1/borrowers/{id}).
	Borrowers *support.Service
	// Intake adds and lifts mutes (POST and DELETE
	// /v1/borrowers/{id}/mutes): a mute made here is acknowledged exactly
	// when the API's would be, once the fence has held for it.
	Intake *intake.Intake
	// Deliveries is the audit trail (GET /v1/borrowers/{id}/deliveries).
	Deliveries *audit.Recorder
	// Inbox is the in-app inbox (GET /v1/borrowers/{id}/inbox).
	Inbox *inapp.Inbox
	// Clock is the instance's clock, the one the intake checks a mute's
	// until against: the presets ("7 days") count from it. Default: the
	// wall clock.
	Clock clock.Clock
}

// supportRoutes registers the support pages (role support; admin may act
// in every role).
func (c *Console) supportRoutes() {
	if c.o.Support.Clock == nil {
		c.o.Support.Clock = clock.Real{}
	}
	support := func(h pageHandler) http.HandlerFunc {
		return c.page(auth.RoleSupport, func(w http.ResponseWriter, r *http.Request, rq *request) {
			if c.o.Support.Borrowers == nil {
				c.fail(w, rq, http.StatusNotFound)
				return
			}
			h(w, r, rq)
		})
	}
	c.mux.HandleFunc("GET "+Prefix+"search", support(c.getSearch))
	c.mux.HandleFunc("GET "+Prefix+"borrowers/{id}", support(c.getBorrower))
	c.mux.HandleFunc("POST "+Prefix+"borrowers/{id}/mutes", support(c.postMute))
	c.mux.HandleFunc("GET "+Prefix+"borrowers/{id}/mutes/{mute_id}/unmute", support(c.getUnmute))
	c.mux.HandleFunc("POST "+Prefix+"borrowers/{id}/mutes/{mute_id}/unmute", support(c.postUnmute))
	c.mux.HandleFunc("GET "+Prefix+"borrowers/{id}/inbox", support(c.getInbox))
}

// borrowerPath is the borrower page's stable URL, /console/borrowers/{id},
// which support tools and ticket systems link to.
func borrowerPath(id string) string { return Prefix + "borrowers/" + url.PathEscape(id) }

func mutePath(borrowerID, muteID string) string {
	return borrowerPath(borrowerID) + "/mutes/" + url.PathEscape(muteID)
}

// supportFailure answers a support page whose read or write failed: 404
// for an unknown borrower (message names it), the error page otherwise
// (logged without the borrower's contact points, which some store errors
// echo).
func (c *Console) supportFailure(w http.ResponseWriter, r *http.Request, rq *request, err error) {
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, intake.ErrNotFound) {
		c.failWith(w, rq, http.StatusNotFound, rq.Lang.T("borrower.unknown", r.PathValue("id")))
		return
	}
	status := http.StatusInternalServerError
	if store.IsTransient(err) {
		status = http.StatusServiceUnavailable
	}
	c.o.Log.WithField("path", r.URL.Path).WithField("error", logging.Scrub(err.Error())).Warn("console: support page failed")
	c.failWith(w, rq, status, rq.Lang.T("support.unavailable"))
}

// zoneOf loads a zone name the support read model gave (always a valid
// one); UTC if it somehow does not load.
func zoneOf(name string) *time.Location {
	if loc, err := tz.Load(name); err == nil {
		return loc
	}
	return time.UTC
}

// supportTexts are the support pages' texts: English, Simplified Chinese.
var supportTexts = map[string][2]string{
	"support.unavailable":    {"The borrower's records could not be read just now; try again in a moment. The server log says why.", "暂时无法读取该借款人的记录，请稍后重试。原因见服务器日志。"},
	"support.list_sep":       {", ", "、"},
	"support.time.yours":     {"Your time", "您的时间"},
	"support.time.borrowers": {"Borrower's time", "借款人当地时间"},

	"support.channel.sms":   {"SMS", "短信"},
	"support.channel.voice": {"Voice call", "语音电话"},
	"support.channel.email": {"Email", "邮件"},
	"support.channel.inapp": {"In-app", "应用内消息"},
	"support.channel.all":   {"every channel", "所有渠道"},

	"support.status.allowed":    {"goes out", "将发送"},
	"support.status.queued":     {"queued", "已排队"},
	"support.status.sent":       {"sent", "已发送"},
	"support.status.delivered":  {"delivered", "已送达"},
	"support.status.failed":     {"failed", "失败"},
	"support.status.suppressed": {"suppressed", "已屏蔽"},
	"support.status.deferred":   {"deferred", "已推迟"},
	"support.status.capped":     {"capped", "超出上限"},

	"support.rule.send_window":       {"send window", "发送时段"},
	"support.rule.blackout":          {"borrower's quiet hours", "借款人免打扰时段"},
	"support.rule.cap":               {"contact cap", "联系次数上限"},
	"support.rule.conversation":      {"recent conversation", "近期已通话"},
	"support.rule.connected_per_day": {"connected calls per day", "每日接通次数"},
	"support.rule.mute":              {"mute", "静音"},
	"support.rule.agreement":         {"agreement", "还款协议"},
	"support.rule.opt_out":           {"opt-out", "退订"},
	"support.rule.ceased":            {"cease request", "停止催收请求"},
	"support.rule.no_address":        {"no address", "无联系地址"},

	// Search.
	"search.title":         {"Find a borrower", "查找借款人"},
	"search.label":         {"Borrower id, loan id, email or phone number", "借款人 ID、借款 ID、邮箱或手机号"},
	"search.submit":        {"Search", "搜索"},
	"search.help":          {"A phone number may be typed in any format (spaces, dashes, with or without +86).", "手机号可按任意格式输入（可含空格、短横线，带或不带 +86）。"},
	"search.empty":         {"Type an id, an email or a phone number to search for.", "请输入要查找的 ID、邮箱或手机号。"},
	"search.invalid":       {"This cannot be searched for: %s.", "无法按此内容搜索：%s。"},
	"search.results":       {"Borrowers found: %d", "找到的借款人：%d"},
	"search.col.name":      {"Name", "姓名"},
	"search.col.id":        {"Borrower id", "借款人 ID"},
	"search.col.matched":   {"Matched by", "匹配依据"},
	"search.field.id":      {"borrower id", "借款人 ID"},
	"search.field.loan_id": {"loan id", "借款 ID"},
	"search.field.email":   {"email", "邮箱"},
	"search.field.phone":   {"phone number", "手机号"},
	"search.none":          {"No borrower matches.", "没有匹配的借款人。"},
	"search.full":          {"Only the first %d are listed; search for something more precise.", "仅列出前 %d 个，请使用更精确的条件搜索。"},

	// Borrower page.
	"borrower.unknown":                  {"There is no borrower with id “%s”.", "没有 ID 为“%s”的借款人。"},
	"borrower.sections":                 {"Sections of this page", "本页内容"},
	"borrower.profile":                  {"Profile", "基本信息"},
	"borrower.id":                       {"Borrower id", "借款人 ID"},
	"borrower.name":                     {"Name", "姓名"},
	"borrower.phone":                    {"Phone", "手机号"},
	"borrower.email":                    {"Email", "邮箱"},
	"borrower.none":                     {"none", "无"},
	"borrower.locale":                   {"Language", "语言"},
	"borrower.zone":                     {"Time zone", "时区"},
	"borrower.zone_default":             {"(the default zone: the borrower has none of their own)", "（默认时区：借款人未设置时区）"},
	"borrower.local_time":               {"Local time now", "当地当前时间"},
	"borrower.blackouts":                {"Quiet hours", "免打扰时段"},
	"borrower.blackout":                 {"%s–%s (%s)", "%s–%s（%s）"},
	"borrower.updated":                  {"Last updated", "最近更新"},
	"borrower.inbox":                    {"In-app inbox", "应用内收件箱"},
	"borrower.cases":                    {"Cases", "案件"},
	"borrower.no_cases":                 {"No loans known.", "暂无借款记录。"},
	"borrower.case.loan":                {"Loan", "借款"},
	"borrower.case.due":                 {"Due date", "到期日"},
	"borrower.case.dpd":                 {"Days past due", "逾期天数"},
	"borrower.case.amount":              {"Amount due", "应还金额"},
	"borrower.case.status":              {"Status", "状态"},
	"borrower.case.policy":              {"Policy", "策略"},
	"borrower.case.agreement":           {"Agreement", "还款协议"},
	"borrower.case.default_policy":      {"the default", "默认策略"},
	"borrower.agreements":               {"Agreements", "还款协议"},
	"borrower.agreement.id":             {"Agreement", "协议"},
	"borrower.agreement.kind":           {"Kind", "类型"},
	"borrower.agreement.status":         {"Status", "状态"},
	"borrower.agreement.policy":         {"Reminder plan (policy)", "提醒计划（策略）"},
	"borrower.agreement.default_policy": {"the default plan (agreements.policy)", "默认计划（agreements.policy）"},
	"borrower.agreement.loans":          {"Loans", "涉及借款"},
	"borrower.agreement.plan":           {"Instalments (%d)", "分期（%d 期）"},
	"borrower.agreement.due":            {"Due date", "到期日"},
	"borrower.agreement.amount":         {"Amount", "金额"},
	"borrower.suppressions":             {"Suppressions in force", "生效中的屏蔽"},
	"borrower.no_suppressions":          {"Nothing suppresses reminders to this borrower.", "当前没有任何屏蔽，提醒照常发送。"},
	"borrower.next":                     {"Next reminders", "即将发送的提醒"},
	"borrower.next_help":                {"What would happen to each on each channel at its time, as things stand now; contacts made meanwhile can change it.", "按当前情况，每条提醒在发送时间于各渠道的处理结果；在此期间的联系记录可能改变结果。"},
	"borrower.no_next":                  {"No reminder is coming up.", "没有即将发送的提醒。"},
	"borrower.next.step":                {"Policy / step, loan", "策略 / 步骤，借款"},
	"borrower.next.template":            {"Template", "模板"},
	"borrower.next.channels":            {"On each channel", "各渠道结果"},
	"borrower.next.agreement":           {"(agreement %s)", "（协议 %s）"},
	"borrower.next.until":               {"until %s", "直到 %s"},
	"borrower.deliveries":               {"Delivery timeline", "发送记录"},

	// Suppressions.
	"suppression.kind.agreement":       {"Agreement hold", "还款协议暂停"},
	"suppression.kind.mute":            {"Mute", "静音"},
	"suppression.kind.opt_out":         {"Opt-out", "退订"},
	"suppression.kind.ceased":          {"Cease request", "停止催收请求"},
	"suppression.since":                {"since %s", "自 %s 起"},
	"suppression.blocks":               {"Stops:", "屏蔽范围："},
	"suppression.blocks.agreement":     {"collection reminders about loans %s (the agreement's own reminders go on)", "借款 %s 的催收提醒（协议本身的提醒照常发送）"},
	"suppression.blocks.mute":          {"every reminder on %s", "%s上的所有提醒"},
	"suppression.blocks.opt_out":       {"%s messages to %s", "%s消息（发往 %s）"},
	"suppression.blocks.opt_out_all":   {"%s messages to any address", "发往任何地址的%s"},
	"suppression.blocks.ceased":        {"every collection message on every channel", "所有渠道上的所有催收消息"},
	"suppression.held":                 {"It holds back %d of the next reminders:", "它将拦下 %d 条即将发送的提醒："},
	"suppression.optout.channel":       {"Channel", "渠道"},
	"suppression.optout.address":       {"Address", "地址"},
	"suppression.optout.every_address": {"every address", "所有地址"},
	"suppression.optout.source":        {"Source", "来源"},

	// Mute and unmute.
	"mute.title":         {"Mute", "静音"},
	"mute.id":            {"Mute", "静音编号"},
	"mute.channels":      {"Channels", "渠道"},
	"mute.channels_help": {"None ticked: every channel.", "不勾选即为所有渠道。"},
	"mute.until":         {"Until", "截止时间"},
	"mute.until.1d":      {"1 day", "1 天"},
	"mute.until.7d":      {"7 days", "7 天"},
	"mute.until.30d":     {"30 days", "30 天"},
	"mute.until.none":    {"until lifted", "直到手动解除"},
	"mute.until_date":    {"Or until a date (00:00, %s)", "或截止到某日（%s 时区 00:00）"},
	"mute.until_help":    {"A date, if given, is used instead of the choice above.", "如填写了日期，则以日期为准。"},
	"mute.until_bad":     {"“%s” is not a date; use the date picker (YYYY-MM-DD).", "“%s”不是有效日期，请用日期选择器（YYYY-MM-DD）。"},
	"mute.no_end":        {"until lifted", "直到手动解除"},
	"mute.reason":        {"Reason", "原因"},
	"mute.required":      {"(required)", "（必填）"},
	"mute.reason_help":   {"Shown in the audit trail and to the colleague who lifts it.", "会记录在审计记录中，并显示给解除静音的同事。"},
	"mute.by":            {"Muted by", "操作人"},
	"mute.created":       {"Muted at", "静音时间"},
	"mute.wait":          {"The answer takes a moment: it comes once no instance can start a reminder in the mute's scope.", "提交后需稍候片刻：待所有实例都不会再发出该范围内的提醒后才会返回。"},
	"mute.submit":        {"Mute", "静音"},
	"mute.refused":       {"The mute was not added: see what is marked below.", "静音未添加：请查看下方标出的问题。"},
	"mute.acknowledged":  {"Mute %s is in force.", "静音 %s 已生效。"},
	"mute.guarantee":     {"No reminder in its scope (%s) starts after this moment, %s, on any instance.", "其范围内（%s）的提醒，自此刻（%s）起不会在任何实例上开始发送。"},
	"unmute.button":      {"Unmute…", "解除静音…"},
	"unmute.title":       {"Lift this mute?", "解除此静音？"},
	"unmute.question":    {"Lift mute %s of %s?", "解除静音 %s（借款人 %s）？"},
	"unmute.effect":      {"Reminders in its scope resume at the next sweep (within a minute or so), unless another suppression stops them.", "该范围内的提醒将在下一次调度（约一分钟内）恢复，除非有其他屏蔽。"},
	"unmute.confirm":     {"Lift mute %s? Reminders in its scope will resume.", "确定解除静音 %s？该范围内的提醒将恢复发送。"},
	"unmute.submit":      {"Lift the mute", "解除静音"},
	"unmute.cancel":      {"Keep it", "保留静音"},
	"unmute.done":        {"Mute %s is lifted: reminders in its scope resume at the next sweep.", "静音 %s 已解除：该范围内的提醒将在下一次调度时恢复。"},
	"unmute.unknown":     {"Mute “%s” is not in force for this borrower: it may have been lifted already, or have ended.", "该借款人没有生效中的静音“%s”：可能已被解除或已到期。"},

	// Delivery timeline.
	"timeline.status":       {"Status", "状态"},
	"timeline.channel":      {"Channel, to", "渠道、收件地址"},
	"timeline.template":     {"Template, step, loan", "模板、步骤、借款"},
	"timeline.message":      {"Message", "消息内容"},
	"timeline.reason":       {"Reason", "原因"},
	"timeline.provider_ref": {"Provider reference", "服务商编号"},
	"timeline.none":         {"Nothing has been sent or decided yet.", "尚无发送或处理记录。"},
	"timeline.more":         {"Only the newest %d records are shown.", "仅显示最新的 %d 条记录。"},
	"timeline.unavailable":  {"The delivery records could not be read just now; reload in a moment.", "暂时无法读取发送记录，请稍后刷新。"},

	// In-app inbox.
	"inbox.title":   {"In-app inbox of %s", "%s 的应用内收件箱"},
	"inbox.back":    {"Back to %s", "返回 %s"},
	"inbox.summary": {"%d messages, %d unread, as the borrower's app shows them (times in %s).", "共 %d 条消息，%d 条未读，与借款人应用中显示的一致（时间为 %s 时区）。"},
	"inbox.unread":  {"unread", "未读"},
	"inbox.more":    {"Only the newest %d messages are shown.", "仅显示最新的 %d 条消息。"},
	"inbox.empty":   {"The inbox is empty.", "收件箱为空。"},
}

package console

import (
	"net/http"

	"github.com/forbear/forbear/internal/compliance"
	"github.com/forbear/forbear/internal/ground/config"
	"github.com/forbear/forbear/internal/roof/auth"
	"github.com/forbear/forbear/templates"
)

// OpsDeps is what the ops pages (templates, policies) read and change.
// Without Templates the template pages answer 404; without Policies the
// policies page does.
type OpsDeps struct {
	// Templates is the template store the API's template routes use: the
	// editor saves, previews, diffs and rolls back through it, so a refused
	// version gets the reason the API gives.
	Templates *templates.Store
	// Uses maps a template id to the policies that send it (and as which
	// category), as the store validates with it.
	Uses map[string][]templates.Use
	// Records are read to preview a template for a real borrower (the
	// API's preview reads the same); nil previews with sample data only.
	Records templates.Records
	// Policies are the configured policies, in configuration order; the
	// page draws what scheduler.Compile makes of them.
	Policies []config.Policy
	// Compliance is the configuration's compliance section and Rules what
	// compliance.Compile made of it: the rules in force.
	Compliance config.Compliance
	Rules      compliance.Rules
	// DryRun runs the policies page's dry runs; nil leaves them out.
	DryRun DryRunner
}

// opsRoutes registers the ops pages (role ops).
func (c *Console) opsRoutes() {
	ops := func(h pageHandler) http.HandlerFunc { return c.page(auth.RoleOps, h) }
	c.mux.HandleFunc("GET "+Prefix+"templates", ops(c.getTemplates))
	c.mux.HandleFunc("GET "+Prefix+"templates/{id}", ops(c.getTemplate))
	c.mux.HandleFunc("POST "+Prefix+"templates/{id}", ops(c.postTemplate))
	c.mux.HandleFunc("POST "+Prefix+"templates/{id}/preview", ops(c.postPreview))
	c.mux.HandleFunc("POST "+Prefix+"templates/{id}/rollback", ops(c.postRollback))
	c.mux.HandleFunc("GET "+Prefix+"templates/{id}/diff", ops(c.getDiff))
	c.mux.HandleFunc("GET "+Prefix+"policies", ops(c.getPolicies))
	c.mux.HandleFunc("POST "+Prefix+"policies/dry-run", ops(c.postDryRun))
}

// opsTexts are the ops pages' texts: English, Simplified Chinese.
var opsTexts = map[string][2]string{
	// Templates list.
	"templates.title":         {"Templates", "模板"},
	"templates.id":            {"Template", "模板"},
	"templates.category":      {"Category", "类别"},
	"templates.live":          {"Live version", "生效版本"},
	"templates.used_by":       {"Sent by policies", "使用该模板的策略"},
	"templates.last_change":   {"Last saved", "最近保存"},
	"templates.by_at":         {"%s, %s", "%s，%s"},
	"templates.none":          {"No templates yet.", "暂无模板。"},
	"templates.unused":        {"none", "无"},
	"templates.missing":       {"not in the store: a policy sends it, but it has no version", "模板库中没有：有策略使用它，但它还没有任何版本"},
	"templates.new":           {"New template", "新建模板"},
	"templates.new_id":        {"Id of the new template", "新模板的 ID"},
	"templates.new_help":      {"Letters, digits, '_', '-' and '.'; opens an empty editor.", "可用字母、数字、“_”、“-”和“.”；将打开空白编辑器。"},
	"templates.new_submit":    {"Open the editor", "打开编辑器"},
	"templates.category.none": {"none", "未声明"},
	"templates.use":           {"%s (%s)", "%s（%s）"},

	// Category names.
	"category.collection": {"collection", "催收"},
	"category.agreement":  {"agreement", "协议"},

	// Editor.
	"editor.title":            {"Template %s", "模板 %s"},
	"editor.new":              {"This template has no version yet: saving creates version 1.", "该模板还没有任何版本：保存后将创建第 1 版。"},
	"editor.showing":          {"The form shows version %d.", "表单中显示的是第 %d 版。"},
	"editor.showing_live":     {"The form shows version %d, the live one.", "表单中显示的是第 %d 版（生效版本）。"},
	"editor.saved":            {"Version %d saved; it is live.", "第 %d 版已保存并生效。"},
	"editor.rolled_back":      {"Version %d is live again.", "第 %d 版已重新生效。"},
	"editor.refused":          {"The version was not saved: fix what is marked below. The live version is unchanged.", "该版本未保存：请修改下面标出的问题。生效版本保持不变。"},
	"editor.errors_title":     {"Problems", "问题"},
	"editor.category":         {"Category", "类别"},
	"editor.category_help":    {"Collection SMS and email must tell the borrower how to opt out.", "催收类短信和邮件必须告知借款人如何退订。"},
	"editor.used_by":          {"Sent by: %s. A collection policy makes the template collection whatever its category says.", "使用它的策略：%s。被催收策略使用的模板，无论声明的类别如何，都按催收类校验。"},
	"editor.description":      {"Description (for the people who edit it)", "说明（供编辑者参考）"},
	"editor.note":             {"Note for this version", "本版本备注"},
	"editor.note_help":        {"Why you change it; shown in the version list. Empty: the description.", "修改原因，显示在版本列表中。留空则使用说明。"},
	"editor.note_too_long":    {"The note is %d bytes, more than the %d allowed.", "备注为 %d 字节，超过上限 %d。"},
	"editor.channel.sms":      {"SMS", "短信"},
	"editor.channel.voice":    {"Voice (text-to-speech)", "语音（文字转语音）"},
	"editor.channel.email":    {"Email", "邮件"},
	"editor.channel.inapp":    {"In-app message", "应用内消息"},
	"editor.channel_help":     {"Leave a locale empty to leave it out; a channel with no text is not sent.", "某语言留空即不包含该语言；没有任何文本的渠道不会发送。"},
	"editor.text":             {"Text (%s)", "文本（%s）"},
	"editor.subject":          {"Subject (%s)", "主题（%s）"},
	"editor.title_field":      {"Title (%s)", "标题（%s）"},
	"editor.body":             {"Body (%s)", "正文（%s）"},
	"editor.save":             {"Save as a new version", "保存为新版本"},
	"editor.preview_button":   {"Preview without saving", "预览（不保存）"},
	"editor.add_locale":       {"Add a locale", "添加语言"},
	"editor.add_locale_help":  {"A language tag such as fr-FR; adds an empty text for every channel.", "语言标签，例如 fr-FR；会为每个渠道添加一个空白文本。"},
	"editor.add_locale_bad":   {"“%s” is not a language tag such as fr-FR.", "“%s”不是有效的语言标签（例如 fr-FR）。"},
	"editor.add_locale_full":  {"No more than %d locales.", "语言数量不能超过 %d 个。"},
	"editor.preview":          {"Preview", "预览"},
	"editor.preview_for":      {"Preview for borrower (id)", "按借款人预览（ID）"},
	"editor.preview_for_help": {"Empty: sample data. A borrower's first open case and agreement fill the fields.", "留空则使用示例数据。填写后使用该借款人的第一个未结案件及其协议。"},
	"editor.unknown_borrower": {"There is no borrower “%s”: nothing to preview.", "没有借款人“%s”：无法预览。"},
	"editor.preview_empty":    {"No text.", "无文本。"},
	"editor.encoding":         {"Encoding", "编码"},
	"editor.segments":         {"Segments", "条数"},
	"editor.left":             {"Characters left in this segment", "本条剩余字符"},
	"editor.forcing":          {"Characters that force UCS-2", "导致使用 UCS-2 的字符"},
	"editor.forcing_more":     {"and %s more", "另有 %s 个"},
	"editor.render_failed":    {"Renders with an error: %s", "渲染出错：%s"},
	"editor.preview_js":       {"The preview follows as you type.", "预览会随输入实时更新。"},
	"editor.preview_failed":   {"The preview could not be updated (%s).", "预览无法更新（%s）。"},

	// Versions, diff, rollback.
	"versions.title":          {"Versions", "版本"},
	"versions.version":        {"Version", "版本"},
	"versions.author":         {"Author", "作者"},
	"versions.time":           {"Saved", "保存时间"},
	"versions.note":           {"Note", "备注"},
	"versions.live":           {"live", "生效中"},
	"versions.compare":        {"Compare", "比较"},
	"versions.from":           {"From", "从"},
	"versions.to":             {"To", "到"},
	"versions.from_label":     {"Compare from version %d", "从第 %d 版比较"},
	"versions.to_label":       {"Compare to version %d", "比较到第 %d 版"},
	"versions.diff":           {"Show the differences", "显示差异"},
	"versions.edit":           {"Edit from this version", "基于此版本编辑"},
	"versions.rollback":       {"Make live", "设为生效"},
	"versions.rollback_label": {"Make version %d live again", "将第 %d 版重新设为生效"},
	"versions.confirm":        {"Make version %d live? Every instance sends it within moments.", "确定将第 %d 版设为生效？所有实例将很快开始使用它。"},
	"versions.none":           {"No versions yet.", "暂无版本。"},
	"versions.unknown":        {"There is no version %d of this template.", "该模板没有第 %d 版。"},
	"versions.bad":            {"%s must be a version number of 1 or more.", "%s 必须是不小于 1 的版本号。"},
	"diff.title":              {"Template %s: version %d to %d", "模板 %s：第 %d 版到第 %d 版"},
	"diff.none":               {"The two versions are the same.", "两个版本完全相同。"},
	"diff.where":              {"Where", "位置"},
	"diff.kind":               {"Change", "变化"},
	"diff.before":             {"Before (version %d)", "之前（第 %d 版）"},
	"diff.after":              {"After (version %d)", "之后（第 %d 版）"},
	"diff.added":              {"added", "新增"},
	"diff.removed":            {"removed", "删除"},
	"diff.changed":            {"changed", "修改"},
	"diff.field.category":     {"category", "类别"},
	"diff.field.note":         {"description", "说明"},
	"diff.field.subject":      {"subject", "主题"},
	"diff.field.title":        {"title", "标题"},
	"diff.field.body":         {"body", "正文"},
	"diff.back":               {"Back to the editor", "返回编辑器"},
	"diff.legend":             {"Removed words are struck through, added ones underlined.", "删除的词带删除线，新增的词带下划线。"},

	// Policies.
	"policies.title":        {"Policies", "策略"},
	"policies.none":         {"No policies are configured.", "没有配置任何策略。"},
	"policies.category":     {"Category: %s", "类别：%s"},
	"policies.anchor":       {"Counted from: %s", "起算点：%s"},
	"policies.anchor.due":   {"the loan's due date (00:00 in the borrower's zone)", "借款到期日（借款人时区 00:00）"},
	"policies.anchor.inst":  {"each instalment's due date of the agreement (00:00 in the borrower's zone)", "协议中每期还款的到期日（借款人时区 00:00）"},
	"policies.axis":         {"D = %s", "D = %s"},
	"policies.axis.due":     {"due date", "到期日"},
	"policies.axis.inst":    {"instalment due date", "每期到期日"},
	"policies.timeline":     {"Timeline of policy %s", "策略 %s 的时间线"},
	"policies.timeline_d":   {"Each row is a step, with one line per channel: a dot where it first fires, ticks where it repeats, an arrow where it repeats while the case is open.", "每一行是一个步骤，每个渠道一条线：圆点为首次发送，刻度为重复发送，箭头表示在案件未结清期间持续重复。"},
	"policies.step":         {"Step", "步骤"},
	"policies.channels":     {"Channels", "渠道"},
	"policies.template":     {"Template", "模板"},
	"policies.when":         {"When (relative to %s)", "时间（相对于%s）"},
	"policies.raw":          {"at / every / until", "at / every / until"},
	"policies.before":       {"%s before", "%s前"},
	"policies.after":        {"%s after", "%s后"},
	"policies.at_anchor":    {"at 00:00 of that day", "当天 00:00"},
	"policies.once":         {"once", "仅一次"},
	"policies.every_until":  {"then every %s, the last at %s", "之后每%s一次，最后一次在%s"},
	"policies.every_open":   {"then every %s while the case is open", "之后每%s一次，直到案件结清"},
	"policies.many_repeats": {"%d repeats, too many to mark one by one", "重复 %d 次，过多无法逐一标出"},
	"policies.legend":       {"Channels", "渠道"},
	// The policies page's dry run.
	"dryrun.title":         {"Dry run", "试运行"},
	"dryrun.intro":         {"What these policies and contact rules would do to generated borrowers over the coming days, with nothing sent or stored.", "用生成的借款人模拟这些策略和联系规则在未来几天的效果；不发送、不保存任何内容。"},
	"dryrun.days":          {"Days", "天数"},
	"dryrun.borrowers":     {"Borrowers", "借款人数"},
	"dryrun.preset":        {"Compare with preset", "与预设对比"},
	"dryrun.preset_none":   {"none", "不对比"},
	"dryrun.run":           {"Run the dry run", "开始试运行"},
	"dryrun.totals":        {"%s: %d borrowers, %d days from %s", "%s：%d 位借款人，%d 天，自 %s 起"},
	"dryrun.chart":         {"Chart %s of the dry run", "试运行图表 %s"},
	"dryrun.bad_days":      {"Days must be a number from 1 to %d.", "天数须为 1 到 %d 之间的数字。"},
	"dryrun.bad_borrowers": {"Borrowers must be a number from 1 to %d.", "借款人数须为 1 到 %d 之间的数字。"},
	"dryrun.refused":       {"The dry run was refused: %s", "试运行被拒绝：%s"},
	"dryrun.failed":        {"The dry run failed; see the server log.", "试运行失败，请查看服务器日志。"},
	"dryrun.busy":          {"Another dry run is running on this instance; try again when it has finished.", "本实例正在进行另一次试运行，请待其结束后重试。"},
	"policies.invalid":     {"The policies do not compile: %s", "策略配置有误：%s"},
	"policies.default":     {"Serves cases that name no policy.", "用于未指定策略的案件。"},

	// Durations and lists.
	"list.sep":   {", ", "，"},
	"dur.day":    {"%d day", "%d天"},
	"dur.days":   {"%d days", "%d天"},
	"dur.hour":   {"%d hour", "%d小时"},
	"dur.hours":  {"%d hours", "%d小时"},
	"dur.minute": {"%d minute", "%d分钟"},
	"dur.mins":   {"%d minutes", "%d分钟"},
	"dur.join":   {"%s %s", "%s%s"},
	"dur.zero":   {"0", "0"},

	// Contact rules in plain words.
	"rules.title":          {"Contact rules in force", "当前生效的联系规则"},
	"rules.window":         {"Messages and calls go out only between %s and %s in the borrower's local time; where the phone number's region has other zones, only in the hours inside the window in all of them. Outside it they wait and are sent when it opens.", "消息和电话只在借款人当地时间 %s 至 %s 之间发出；若电话号码所在地区有其他时区，只在所有时区都处于该时段内时发出。时段外的提醒会等待，时段开始后发出。"},
	"rules.window_always":  {"No send window: messages and calls may go out at any hour.", "没有发送时段限制：任何时间都可以发送消息和拨打电话。"},
	"rules.cap":            {"%s: at most %d in any %s, counted %s.", "%s：最多 %d 次（任意 %s 内），%s计算。"},
	"rules.cap_none":       {"%s: no cap.", "%s：不限次数。"},
	"rules.per_borrower":   {"per borrower", "按借款人"},
	"rules.per_loan":       {"per loan", "按每笔借款"},
	"rules.conversation":   {"No call about a loan for %s after a connected call about it.", "关于某笔借款的电话接通后 %s 内，不再就该借款拨打电话。"},
	"rules.conversation_0": {"No pause after a connected call.", "电话接通后没有暂停期。"},
	"rules.connected":      {"At most %d connected calls per borrower per local day.", "每位借款人每个当地自然日最多接通 %d 次电话。"},
	"rules.connected_0":    {"No daily limit on connected calls.", "每日接通电话次数不设上限。"},
	"rules.keywords":       {"An inbound SMS that is exactly one of %s (any case) opts that number out.", "收到内容恰好为 %s 之一（不区分大小写）的短信时，该号码即退订。"},
	"rules.keywords_none":  {"No inbound SMS keyword opts a number out.", "没有可用于退订的短信关键词。"},
	"rules.optout_line":    {"Every SMS and email must tell the borrower how to opt out.", "每条短信和邮件都必须告知借款人如何退订。"},
	"rules.zone":           {"Borrowers without a known time zone are taken to be in %s.", "时区未知的借款人按 %s 处理。"},
	"rules.calls":          {"At most %d calls a day to the borrower's number, answered or not.", "每天对借款人号码最多拨打 %d 次，无论是否接通。"},
	"rules.phone_contacts": {"Per loan, at most %d calls and texts in any %s to a home or mobile number, and %d in any %s to other numbers.", "每笔借款：对住宅或手机号码最多 %d 次电话和短信（任意 %s 内），对其他号码最多 %d 次（任意 %s 内）。"},
	"rules.consent":        {"Calls placed after the borrower's consent to calls are not counted toward the call cap while the consent is less than %s old.", "借款人同意接听电话后所拨打的电话，在同意未满 %s 期间不计入电话上限。"},
	"rules.number_check":   {"An SMS goes only to a number confirmed as the borrower's (a consent or a reassigned-number check) within %s; otherwise it waits for one.", "短信只发往在 %s 内经确认属于借款人的号码（同意或号码重新分配核查），否则等待确认。"},
	"rules.preset":         {"Preset: %s.", "预设：%s。"},
	"rules.preset_none":    {"No preset: the built-in rules, changed by the keys set in the compliance section.", "未使用预设：采用内置规则，并由 compliance 配置中设置的项覆盖。"},
	"rules.sources":        {"Sources: %s", "依据：%s"},
	"rules.origin.key":     {"set by %s", "由 %s 设置"},
	"rules.origin.preset":  {"from preset %s", "来自预设 %s"},
	"rules.origin.builtin": {"built-in default", "内置默认值"},
	"rules.channel.sms":    {"SMS", "短信"},
	"rules.channel.voice":  {"Calls", "电话"},
	"rules.channel.email":  {"Email", "邮件"},
	"rules.channel.inapp":  {"In-app messages", "应用内消息"},

	"preset.us-regf.summary":     {"window 08:00-21:00 in every possible zone of the borrower; 7 calls in 7 days per debt, calls after a consent not counted while it is under 7 days old; no call within 7 days after a conversation; SMS only to a number confirmed within 60 days; opt-out wording required in SMS and email", "在借款人所有可能的时区内 08:00-21:00 发送；每笔债务 7 天内最多 7 次电话，借款人同意后拨打的电话在同意未满 7 天时不计入；通话后 7 天内不再致电；短信只发往 60 天内经确认的号码；短信和邮件必须包含退订说明"},
	"preset.us-regf.sources":     {"CFPB Regulation F, 12 CFR 1006.6(b)(1)(i) (inconvenient times), 1006.14(b)(2)(i) and (ii) (call frequency presumptions), 1006.14(b)(3)(i) (calls with prior consent), 1006.6(d)(5) (text messages and reassigned numbers), 1006.6(e) (opt-out notice in electronic communications)", "美国消费者金融保护局 Regulation F，12 CFR 1006.6(b)(1)(i)（不便联系的时间）、1006.14(b)(2)(i) 与 (ii)（通话频率推定）、1006.14(b)(3)(i)（事先同意的电话）、1006.6(d)(5)（短信与号码重新分配）、1006.6(e)（电子通信中的退订说明）"},
	"preset.us-ma.summary":       {"per debt, at most 2 calls or texts in 7 days to a home or mobile number and 2 in 30 days to other numbers", "每笔债务 7 天内对住宅或手机号码最多 2 次电话或短信，30 天内对其他号码最多 2 次"},
	"preset.us-ma.sources":       {"Massachusetts, 940 CMR 7.04(1)(f) (creditors)", "美国马萨诸塞州 940 CMR 7.04(1)(f)（债权人）"},
	"preset.cn-gbt-2025.summary": {"window 08:00-22:00, borrowers without a zone in Asia/Shanghai; at most 3 connected calls a day per borrower, automated voice included; only the borrower is contacted (forbear only contacts the borrower's own contact points)", "08:00-22:00 发送，未知时区的借款人按 Asia/Shanghai 处理；每位借款人每天最多接通 3 次电话（含智能语音）；只联系借款人本人（forbear 只联系借款人本人的联系方式）"},
	"preset.cn-gbt-2025.sources": {"national standard 《互联网金融 个人网络消费信贷 贷后催收风控指引》 (in force 2025-02-28): hours and conversations a day as forbear reads it", "国家标准《互联网金融 个人网络消费信贷 贷后催收风控指引》（2025-02-28 起施行）：催收时段与每日有效通话次数为 forbear 的理解"},
	"preset.cn-cba-2026.summary": {"window 08:00-22:00, borrowers without a zone in Asia/Shanghai; at most 6 calls a day to the borrower's number, answered or not", "08:00-22:00 发送，未知时区的借款人按 Asia/Shanghai 处理；每天对借款人号码最多拨打 6 次，无论是否接通"},
	"preset.cn-cba-2026.sources": {"中国银行业协会《金融机构个人消费类贷款催收工作指引（试行）》(2026): hours and unanswered calls as forbear reads it", "中国银行业协会《金融机构个人消费类贷款催收工作指引（试行）》（2026）：催收时段与未接通拨打次数为 forbear 的理解"},
}

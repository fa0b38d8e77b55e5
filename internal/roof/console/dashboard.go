package console

import (
	"context"
	"net/http"
	"time"

	"github.com/forbear/forbear/internal/stats"
)

// DashboardDeps is what the dashboard reads.
type DashboardDeps struct {
	// Stats computes every figure the dashboard shows. It is the Read that
	// answers the API's GET /v1/stats, so the page and the API cannot
	// disagree. Without it the page still opens (it is the console's home
	// page, where sign-in lands) and says it has no figures.
	Stats *stats.Reader
}

// dashboardReadTimeout bounds one read of the figures: a stream without a
// leader must not hold the page for ever.
const dashboardReadTimeout = 10 * time.Second

func (c *Console) dashboardRoutes() {
	c.mux.HandleFunc("GET "+Prefix+"{$}", c.page(anyStaff, c.getDashboard))
}

// getDashboard is the console's home page: the figures of GET /v1/stats,
// as charts and tables, for every staff role (the API lets each read
// them).
func (c *Console) getDashboard(w http.ResponseWriter, r *http.Request, rq *request) {
	title := rq.Lang.T("dashboard.title")
	if c.o.Dashboard.Stats == nil {
		c.render(w, rq, http.StatusOK, "dashboard", title, nil)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), dashboardReadTimeout)
	defer cancel()
	snap, err := c.o.Dashboard.Stats.Read(ctx)
	if err != nil {
		c.o.Log.WithError(err).Warn("console: dashboard figures")
		c.failWith(w, rq, http.StatusServiceUnavailable, rq.Lang.T("dashboard.unavailable"))
		return
	}
	c.render(w, rq, http.StatusOK, "dashboard", title, newDashboardView(snap, rq))
}

// dashboardTexts are the dashboard's texts: English, Simplified Chinese.
var dashboardTexts = map[string][2]string{
	"dashboard.title":       {"Dashboard", "概览"},
	"dashboard.as_of":       {"Figures as of %s.", "数据截至 %s。"},
	"dashboard.zone":        {"Times are in %s.", "时间按 %s 显示。"},
	"dashboard.no_stats":    {"This instance has no figures to show.", "本实例没有可显示的数据。"},
	"dashboard.unavailable": {"The dashboard's figures could not be read from NATS just now; the server log says why. Reload the page to try again.", "暂时无法从 NATS 读取概览数据，原因见服务器日志。请刷新页面重试。"},
	"dashboard.sections":    {"Sections of the dashboard", "概览栏目"},

	"dashboard.summary":             {"At a glance", "总览"},
	"dashboard.tile.capped_24h":     {"Capped, last 24 hours", "近 24 小时限额拦截"},
	"dashboard.tile.capped_7d":      {"Capped, last 7 days", "近 7 天限额拦截"},
	"dashboard.tile.suppressed_24h": {"Suppressed, last 24 hours", "近 24 小时已抑制"},
	"dashboard.tile.suppressed_7d":  {"Suppressed, last 7 days", "近 7 天已抑制"},
	"dashboard.tile.deferred":       {"Deferred now", "当前延后"},
	"dashboard.tile.refused":        {"Events refused (DLQ)", "被拒事件（死信）"},
	"dashboard.tile.instances":      {"Instances up", "运行中的实例"},

	"dashboard.span.24h":      {"Deliveries, last 24 hours", "近 24 小时投递"},
	"dashboard.span.7d":       {"Deliveries, last 7 days", "近 7 天投递"},
	"dashboard.span.24h_hint": {"Delivery records counted in the hour of their decision, the current hour included.", "按决定时所在小时统计的投递记录，包括当前小时。"},
	"dashboard.span.7d_hint":  {"The 168 hours to now, per calendar day in %s: the first and the last day may be partial.", "截至目前的 168 小时，按 %s 的日历日统计：首尾两天可能不完整。"},
	"dashboard.totals":        {"Totals by channel and status", "按渠道和状态汇总"},
	"dashboard.channel":       {"Channel", "渠道"},
	"dashboard.all":           {"All", "合计"},
	"dashboard.all_channels":  {"All channels", "全部渠道"},
	"dashboard.legend":        {"Statuses", "状态"},
	"dashboard.chart.24h":     {"%s, last 24 hours: deliveries per hour, stacked by status. The numbers are in the table below.", "%s，近 24 小时：每小时投递量，按状态堆叠。具体数字见下表。"},
	"dashboard.chart.7d":      {"%s, last 7 days: deliveries per day, stacked by status. The numbers are in the table below.", "%s，近 7 天：每日投递量，按状态堆叠。具体数字见下表。"},
	"dashboard.chart.empty":   {"No deliveries", "没有投递"},
	"dashboard.axis.hour":     {"Hour (%s)", "小时（%s）"},
	"dashboard.axis.day":      {"Day (%s)", "日期（%s）"},
	"dashboard.axis.count":    {"Deliveries", "投递数"},
	"dashboard.numbers.24h":   {"%s: numbers per hour", "%s：每小时数字"},
	"dashboard.numbers.7d":    {"%s: numbers per day", "%s：每日数字"},
	"dashboard.col.hour":      {"Hour", "小时"},
	"dashboard.col.day":       {"Day", "日期"},

	"dashboard.status.queued":     {"Queued", "排队中"},
	"dashboard.status.sent":       {"Sent", "已发送"},
	"dashboard.status.delivered":  {"Delivered", "已送达"},
	"dashboard.status.failed":     {"Failed", "失败"},
	"dashboard.status.suppressed": {"Suppressed", "已抑制"},
	"dashboard.status.deferred":   {"Deferred", "已延后"},
	"dashboard.status.capped":     {"Capped", "已限额"},

	"dashboard.channel.sms":   {"SMS", "短信"},
	"dashboard.channel.voice": {"Voice", "语音"},
	"dashboard.channel.email": {"Email", "邮件"},
	"dashboard.channel.inapp": {"In-app", "应用内"},

	"dashboard.deferred":        {"Deferred reminders", "延后的提醒"},
	"dashboard.deferred.count":  {"%d reminders wait for a send window or the end of a blackout.", "%d 条提醒正在等待发送时段或禁发期结束。"},
	"dashboard.deferred.listed": {"The newest %d, newest first:", "最新的 %d 条（最新在前）："},
	"dashboard.deferred.none":   {"No reminder is deferred.", "没有延后的提醒。"},
	"dashboard.col.reminder":    {"Reminder", "提醒"},
	"dashboard.col.borrower":    {"Borrower", "借款人"},
	"dashboard.col.loan":        {"Loan", "贷款"},
	"dashboard.col.step":        {"Step", "步骤"},
	"dashboard.col.until":       {"Until", "延后至"},
	"dashboard.col.deferred_at": {"Deferred at", "延后于"},
	"dashboard.refused":         {"Events refused", "被拒绝的事件"},
	"dashboard.refused.count":   {"%d events were refused and dead-lettered on forbear.dlq.events.", "共有 %d 个事件被拒绝并转入死信主题 forbear.dlq.events。"},
	"dashboard.refused.listed":  {"The newest %d, with why:", "最新的 %d 个及原因："},
	"dashboard.refused.none":    {"No event has been refused.", "没有被拒绝的事件。"},
	"dashboard.col.at":          {"At", "时间"},
	"dashboard.col.event":       {"Event", "事件"},
	"dashboard.col.type":        {"Type", "类型"},
	"dashboard.col.subject":     {"Subject", "主题"},
	"dashboard.col.reason":      {"Reason", "原因"},
	"dashboard.col.field":       {"Field", "字段"},
	"dashboard.queues":          {"Queue depth", "队列深度"},
	"dashboard.queues.hint":     {"Reminders waiting for each channel's workers, or handed out and not yet acknowledged.", "等待各渠道处理的提醒，以及已分发但尚未确认的提醒。"},
	"dashboard.col.depth":       {"Waiting", "等待中"},
	"dashboard.instances":       {"Instances", "实例"},
	"dashboard.instances.none":  {"No instance has a live heartbeat.", "没有实例在发送心跳。"},
	"dashboard.col.name":        {"Name", "名称"},
	"dashboard.col.host":        {"Host", "主机"},
	"dashboard.col.version":     {"Version", "版本"},
	"dashboard.col.since":       {"Up since", "启动于"},
	"dashboard.col.beat":        {"Last heartbeat", "最近心跳"},
	"dashboard.col.http":        {"API address", "API 地址"},
	"dashboard.lease.mark":      {"holds the sweep lease", "持有扫描租约"},
	"dashboard.lease.held":      {"The sweep lease is held by %s until %s.", "扫描租约由 %s 持有，至 %s。"},
	"dashboard.lease.unlisted":  {"That instance has no live heartbeat.", "该实例没有有效心跳。"},
	"dashboard.lease.none":      {"No instance holds the sweep lease: nothing is swept until one takes it.", "当前没有实例持有扫描租约：在有实例取得租约之前不会进行扫描。"},
}

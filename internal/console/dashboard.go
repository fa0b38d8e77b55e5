package console

import "net/http"

// DashboardDeps is what the dashboard reads.
type DashboardDeps struct{}

func (c *Console) dashboardRoutes() {
	c.mux.HandleFunc("GET "+Prefix+"{$}", c.page(anyStaff, c.getDashboard))
}

// getDashboard is the console's home page.
func (c *Console) getDashboard(w http.ResponseWriter, r *http.Request, rq *request) {
	c.render(w, rq, http.StatusOK, "dashboard", rq.Lang.T("dashboard.title"), nil)
}

// dashboardTexts are the dashboard's texts: English, Simplified Chinese.
var dashboardTexts = map[string][2]string{
	"dashboard.title": {"Dashboard", "概览"},
}

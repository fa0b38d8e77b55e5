// forbear console: the little JavaScript the pages need. Everything that
// changes state works without it (plain forms); it only adds comfort.
"use strict";

// The viewer's time zone, so the server shows times in it (a cookie the
// server reads; nothing else is stored).
(function rememberZone() {
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("forbear_tz=" + zone) < 0) {
      document.cookie = "forbear_tz=" + encodeURIComponent(zone) + "; path=/console/; SameSite=Strict; max-age=31536000";
    }
  } catch (e) {
    // No Intl: the server's default zone is used.
  }
})();

// Forms that ask before they act (unmute, rollback) carry data-confirm.
document.addEventListener("submit", function (ev) {
  var form = ev.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    ev.preventDefault();
  }
});

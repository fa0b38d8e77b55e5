// forbear console: the template editor's live preview. The form works
// without it (the "Preview without saving" button renders the same
// previews on the server); this only keeps them current as one types.
"use strict";

(function templateEditor() {
  var form = document.getElementById("template-form");
  if (!form || !window.fetch || !window.JSON) {
    return;
  }
  var url = form.getAttribute("data-preview-url");
  var failedText = form.getAttribute("data-preview-failed") || "%s";
  var csrf = form.querySelector('input[name="csrf"]').value;
  var status = document.getElementById("preview-status");
  var borrower = document.getElementById("preview-borrower");
  var borrowerError = document.getElementById("preview-borrower-error");
  var category = document.getElementById("category");
  var timer = null;
  var sent = 0; // number of the latest request; older answers are dropped
  var DEBOUNCE_MS = 350;

  // draft is the form in the shape of PUT /v1/templates/{id}: a text is in
  // it when any of its parts is not blank, as the server reads the form.
  function draft() {
    var texts = {};
    var fields = form.querySelectorAll("[data-channel][data-locale][data-part]");
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      var key = f.getAttribute("data-channel") + "\u0000" + f.getAttribute("data-locale");
      texts[key] = texts[key] || { channel: f.getAttribute("data-channel"), locale: f.getAttribute("data-locale"), subject: "", body: "" };
      texts[key][f.getAttribute("data-part")] = f.value;
    }
    var channels = {};
    Object.keys(texts).forEach(function (key) {
      var t = texts[key];
      if (t.subject.trim() === "" && t.body.trim() === "") {
        return;
      }
      channels[t.channel] = channels[t.channel] || {};
      channels[t.channel][t.locale] = (t.channel === "email" || t.channel === "inapp") ? { subject: t.subject, body: t.body } : t.body;
    });
    return { category: category ? category.value : "", borrower_id: borrower ? borrower.value.trim() : "", channels: channels };
  }

  function role(box, name) {
    return box.querySelector('[data-role="' + name + '"]');
  }

  function setText(el, text) {
    if (el) {
      el.textContent = text;
    }
  }

  function show(el, visible) {
    if (el) {
      el.hidden = !visible;
    }
  }

  // fill writes one text's preview into its box; p is null for a text
  // left blank. Every value goes in as text, never as markup.
  function fill(box, p) {
    var err = p && p.error ? p.error : "";
    setText(role(box, "error"), err);
    show(role(box, "error"), err !== "");
    show(role(box, "empty"), !p);
    var ok = p && !err;
    setText(role(box, "subject"), ok && p.subject ? p.subject : "");
    var text = role(box, "text");
    if (text) {
      text.textContent = "";
      if (ok) {
        p.runs.forEach(function (run) {
          if (run.ucs2) {
            var mark = document.createElement("mark");
            mark.className = "ucs2";
            mark.textContent = run.text;
            text.appendChild(mark);
          } else {
            text.appendChild(document.createTextNode(run.text));
          }
        });
      }
    }
    show(role(box, "meta"), !!ok);
    setText(role(box, "encoding"), ok ? p.encoding : "");
    setText(role(box, "segments"), ok ? String(p.segments) : "");
    setText(role(box, "left"), ok ? String(p.left) : "");
    var forcing = role(box, "forcing");
    if (forcing) {
      forcing.textContent = "";
      var list = ok ? p.forcing : [];
      list.forEach(function (c) {
        var item = document.createElement("span");
        item.className = "forced";
        var mark = document.createElement("mark");
        mark.className = "ucs2";
        mark.textContent = c.char;
        item.appendChild(mark);
        item.appendChild(document.createTextNode(" " + c.code));
        forcing.appendChild(item);
        // The space between two characters is outside them, as the server
        // writes it: the list wraps there, never inside a character.
        forcing.appendChild(document.createTextNode(" "));
      });
      var more = ok && p.forcing_more ? p.forcing_more : 0;
      if (more > 0) {
        var rest = document.createElement("span");
        rest.className = "forced";
        rest.textContent = (forcing.getAttribute("data-more") || "+%s").replace("%s", String(more));
        forcing.appendChild(rest);
      }
      show(role(box, "forcing-row"), list.length > 0);
    }
  }

  function apply(answer) {
    var unknown = answer.unknown_borrower || "";
    setText(borrowerError, unknown);
    show(borrowerError, unknown !== "");
    if (borrower) {
      if (unknown) {
        borrower.setAttribute("aria-invalid", "true");
      } else {
        borrower.removeAttribute("aria-invalid");
      }
    }
    if (unknown) {
      return; // nothing was rendered: keep the last previews
    }
    var byField = {};
    answer.previews.forEach(function (p) {
      byField[p.field] = p;
    });
    var boxes = form.querySelectorAll("[data-preview]");
    for (var i = 0; i < boxes.length; i++) {
      fill(boxes[i], byField[boxes[i].getAttribute("data-preview")] || null);
    }
  }

  function refresh() {
    var mine = ++sent;
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(draft())
    }).then(function (res) {
      return res.json().then(function (body) {
        return { ok: res.ok, status: res.status, body: body };
      });
    }).then(function (r) {
      if (mine !== sent) {
        return;
      }
      if (!r.ok) {
        setText(status, failedText.replace("%s", (r.body && r.body.error) || String(r.status)));
        return;
      }
      setText(status, "");
      apply(r.body);
    }).catch(function (e) {
      if (mine === sent) {
        setText(status, failedText.replace("%s", String(e && e.message || e)));
      }
    });
  }

  function later() {
    if (timer) {
      clearTimeout(timer);
    }
    timer = setTimeout(refresh, DEBOUNCE_MS);
  }

  form.addEventListener("input", function (ev) {
    var t = ev.target;
    if (t && (t.hasAttribute("data-part") || t === borrower || t === category)) {
      later();
    }
  });
  form.addEventListener("change", function (ev) {
    if (ev.target === category) {
      later();
    }
  });
})();

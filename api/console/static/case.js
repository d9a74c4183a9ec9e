// The case page's few lines (no inline script: the console's CSP forbids it).
// After htmx swapped in a command's form with errors, the cursor goes to the first field in
// error (or to the form's message); after a command succeeded, to the notice saying so.
// After a live update, screen readers hear that the case changed; the body counts updates.
// While a command is on its way, live updates wait: the command's answer shows the case anew,
// and a live update must not replace the form whose answer is still coming.
(function () {
  var sending = [];  // the requests of commands on their way (an answer may detach its form)
  var missed = false;

  function busy() {
    sending = sending.filter(function (xhr) { return xhr.readyState !== 4; });
    return sending.length > 0;
  }
  function isCommand(elt) {
    return !!(elt && elt.closest && elt.closest("form.command"));
  }
  function focusIn(root) {
    if (!root || !root.querySelector) return;
    var target = root.querySelector("[aria-invalid='true']:not(fieldset)") ||
      root.querySelector("[autofocus]") ||
      root.querySelector("fieldset[aria-invalid='true'] input, fieldset[aria-invalid='true'] select, fieldset[aria-invalid='true'] textarea") ||
      root.querySelector(".form-message") || root.querySelector("#case-notice");
    if (target) target.focus();
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.id === "case-live") {
      if (busy()) { missed = true; event.preventDefault(); }
      return;
    }
    if (isCommand(elt)) {
      sending.push(event.detail.xhr);
      var live = document.getElementById("case-live");
      if (live && window.htmx) window.htmx.trigger(live, "htmx:abort");
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target) return;
    if (target.id === "case-live" || (target.closest && target.closest("#case-live"))) return;
    if (target.matches && (target.matches("form.command") || target.id === "case")) {
      focusIn(document.getElementById(target.id) || target);
      var live = document.getElementById("case-live");
      if (missed && !busy() && target.id !== "case" && live && window.htmx) {
        missed = false;
        window.htmx.trigger(live, "sse:inbox");  // what changed meanwhile, now
      } else if (target.id === "case") {
        missed = false;  // the case was shown anew
      }
    }
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var live = document.getElementById("case-live");
    if (!live || event.detail.elt !== live && !(event.detail.target && event.detail.target.id === "case-live")) return;
    var status = document.getElementById("case-live-status");
    if (status) status.textContent = "Der Vorgang wurde aktualisiert (Version " + live.dataset.version + ").";
    document.body.dataset.caseUpdates = String(Number(document.body.dataset.caseUpdates || "0") + 1);
  });
})();

// The clerk console's few lines of script (no inline script: the pages' CSP forbids it).
// Live updates: after htmx swapped in new inbox rows, tell screen readers how many there are
// now, and remember on the body how many swaps happened (tests read it).
document.addEventListener("htmx:afterSwap", function (event) {
  var rows = document.getElementById("inbox-rows");
  if (!rows || !rows.contains(event.detail.elt) && event.detail.elt !== rows) return;
  var status = document.getElementById("live-status");
  if (status) status.textContent = "Posteingang aktualisiert: " + rows.querySelectorAll("tr[data-case]").length + " Vorgänge.";
  document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || "0") + 1);
});
document.addEventListener("htmx:sseOpen", function () { document.body.dataset.live = "1"; });
document.addEventListener("htmx:sseError", function () { document.body.dataset.live = "0"; });

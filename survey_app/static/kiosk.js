/* A counter tablet (docs/operator.md): nothing of one citizen is kept for the next. Runs
   before offline.js, which keeps no draft on a kiosk's form: a draft left from before is
   dropped (a send still pending stays until the server has it); a page restored from the
   back/forward cache is reloaded; the thank-you page leaves the history when it returns
   to a fresh form. */
(function () {
  try {
    var key = "phieu:" + location.pathname, k = JSON.parse(localStorage.getItem(key));
    if (k && !k.pending) localStorage.removeItem(key);
  } catch (e) { /* no storage: nothing kept either */ }
  addEventListener("pageshow", function (e) { if (e.persisted) location.reload(); });
  var back = document.querySelector("meta[http-equiv=refresh]"),
      m = back && /^(\d+);url=(.+)$/.exec(back.content);
  if (m) setTimeout(function () { location.replace(m[2]); }, m[1] * 1000 - 300);
})();

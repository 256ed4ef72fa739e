/* Answering on a bad connection: docs/operator.md */
(function () {
  var form = document.querySelector("form[method=post]");
  if (!form || !form.querySelector("[name=csrf_token]") || !window.fetch || !window.FormData ||
      !window.localStorage) return;
  var key = "phieu:" + location.pathname, timer = 0, st = document.createElement("p");
  st.className = "st";
  st.setAttribute("role", "status");
  form.parentNode.insertBefore(st, form);
  function read() {
    try {
      var k = JSON.parse(localStorage.getItem(key));
      return k && Date.now() - k.at < 864e5 ? k : null;
    } catch (e) { return null; }
  }
  function answers() {
    var pairs = [];
    new FormData(form).forEach(function (v, k) { if (typeof v == "string") pairs.push([k, v]); });
    return pairs;
  }
  function keep(pending, pairs) {
    try {
      localStorage.setItem(key, JSON.stringify({at: Date.now(), pairs: pairs, pending: pending}));
    } catch (e) {}
  }
  function send(pairs) {
    var body = new FormData();
    pairs.forEach(function (p) { body.append(p[0], p[1]); });
    st.textContent = "Đang gửi phiếu…";
    fetch(form.action || location.href, {method: "POST", body: body, credentials: "same-origin"})
      .then(function (r) {
        return r.text().then(function (html) {
          localStorage.removeItem(key);
          if (r.redirected) return location.replace(r.url);
          document.open(); document.write(html); document.close();
        });
      })
      .catch(function () {
        st.textContent = "Chưa gửi được vì mất kết nối. Phiếu đã được giữ trong máy và " +
          "sẽ tự gửi khi có mạng trở lại; xin đừng đóng trang.";
        clearTimeout(timer);
        timer = setTimeout(retry, 15000);
      });
  }
  function retry() {
    var k = read();
    if (k && k.pending) send(k.pairs);
  }
  var kept = read();
  if (kept && kept.pending) retry();
  else if (kept && !form.querySelector(".bad")) kept.pairs.forEach(function (p) {
    var f = form.querySelectorAll("[name='" + p[0].replace(/'/g, "") + "']");
    for (var i = 0; i < f.length; i++) {
      if (f[i].type == "radio" || f[i].type == "checkbox") { if (f[i].value == p[1]) f[i].checked = true; }
      else if (f[i].type != "hidden") f[i].value = p[1];
    }
  });
  function draft() { keep(false, answers()); }
  if (!form.hasAttribute("data-kiosk")) {
    form.addEventListener("change", draft);
    form.addEventListener("input", draft);
  }
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var pairs = answers();
    keep(true, pairs);
    send(pairs);
  });
  addEventListener("online", retry);
})();

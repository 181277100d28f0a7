// AppReg Portal — progressive enhancements. Everything works without this file.
(function () {
  "use strict";
  // A session that ended while the page was open: htmx gets HX-Redirect from
  // the server, so nothing to do here. Copy buttons for values shown once.
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("[data-copy-target]");
    if (!btn) return;
    var el = document.getElementById(btn.getAttribute("data-copy-target"));
    if (!el || !navigator.clipboard) return;
    navigator.clipboard.writeText(el.textContent.trim()).then(function () {
      var old = btn.textContent;
      btn.textContent = "Copied";
      setTimeout(function () { btn.textContent = old; }, 1500);
    });
  });
})();

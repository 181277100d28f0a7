// AppReg Portal — progressive enhancements. Everything works without this file.
(function () {
  "use strict";

  // Copy buttons for values shown once (consent links).
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

  // Long-running forms (a tenant scan): show Pico's spinner and prevent a second submit.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.hasAttribute || !form.hasAttribute("data-busy")) return;
    var btn = form.querySelector("button[type=submit]");
    if (btn) {
      btn.setAttribute("aria-busy", "true");
      btn.textContent = "Scanning…";
      setTimeout(function () { btn.disabled = true; }, 0);
    }
  });
})();

// AppReg Portal — progressive enhancements. Everything works without this file.
(function () {
  "use strict";

  // Words this script shows come from the page (the layout puts them on
  // <html> in the page's language): the script itself speaks no language.
  var msg = function (name, fallback) {
    return document.documentElement.getAttribute("data-msg-" + name) || fallback;
  };

  // Scripts run: the phone layout may fold the navigation behind its Menu button.
  document.documentElement.classList.add("js");
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest && ev.target.closest(".menu-toggle");
    if (!btn) return;
    var menu = document.getElementById(btn.getAttribute("aria-controls"));
    if (!menu) return;
    var open = !menu.classList.contains("open");
    menu.classList.toggle("open", open);
    btn.setAttribute("aria-expanded", open ? "true" : "false");
  });

  // Copy buttons for values shown once (consent links).
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("[data-copy-target]");
    if (!btn) return;
    var el = document.getElementById(btn.getAttribute("data-copy-target"));
    if (!el || !navigator.clipboard) return;
    navigator.clipboard.writeText(el.textContent.trim()).then(function () {
      var old = btn.textContent;
      btn.textContent = msg("copied", "Copied");
      setTimeout(function () { btn.textContent = old; }, 1500);
    });
  });

  // The wizard's apply: while the POST runs (it may take a minute while
  // Graph replicates), poll the run's steps so the admin sees progress.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.getAttribute || !form.getAttribute("data-progress")) return;
    var btn = form.querySelector("button[type=submit]");
    if (btn) {
      btn.setAttribute("aria-busy", "true");
      btn.textContent = msg("applying", "Applying…");
      setTimeout(function () { btn.disabled = true; }, 0);
    }
    var live = document.getElementById("run-progress-live");
    if (!live || !window.htmx) return;
    live.hidden = false;
    var url = form.getAttribute("data-progress");
    var poll = function () {
      window.htmx.ajax("GET", url, { target: live, swap: "innerHTML" });
    };
    poll();
    setInterval(poll, 1000);
  });

  // A blueprint problem's line number selects that line in the editor.
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest && ev.target.closest("[data-goto-line]");
    if (!a) return;
    var ta = document.querySelector("textarea[name=source]");
    if (!ta) return;
    ev.preventDefault();
    var line = parseInt(a.getAttribute("data-goto-line"), 10) || 1;
    var lines = ta.value.split("\n");
    var start = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) start += lines[i].length + 1;
    var end = start + (lines[line - 1] || "").length;
    ta.focus();
    ta.setSelectionRange(start, end);
    // Scroll the line into view: about one line-height per line.
    var lh = parseFloat(getComputedStyle(ta).lineHeight) || 20;
    ta.scrollTop = Math.max(0, (line - 3) * lh);
  });

  // Print buttons (the hand-off sheet).
  document.addEventListener("click", function (ev) {
    if (ev.target.closest && ev.target.closest("[data-print]")) window.print();
  });

  // Long-running forms (a tenant scan): show Pico's spinner and prevent a second submit.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.hasAttribute || !form.hasAttribute("data-busy")) return;
    var btn = form.querySelector("button[type=submit]");
    if (btn) {
      btn.setAttribute("aria-busy", "true");
      btn.textContent = msg("scanning", "Scanning…");
      setTimeout(function () { btn.disabled = true; }, 0);
    }
  });
})();

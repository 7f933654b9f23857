// Counts the inspector's "seconds left" down, once a second, without reloading the page. A page
// the browser shows again from its HTTP cache (Back or Forward without the back/forward cache)
// runs this script anew on an old answer: its seconds left were counted when it was first
// loaded, so it says so instead of counting them down again from the start. The count is not a
// live region (a screen reader is not told every second); a button beside it pauses it.
(function () {
  "use strict";
  var counters = document.querySelectorAll(".countdown[data-seconds-left]");
  if (!counters.length) return;
  var entry = window.performance && performance.getEntriesByType
    ? performance.getEntriesByType("navigation")[0]
    : null;
  if (entry && entry.type === "back_forward" && entry.transferSize === 0) {
    counters.forEach(function (el) {
      var note = document.createElement("strong");
      note.className = "stale";
      note.textContent = " That count is from when this page was first loaded: your browser has " +
        "shown it again from its cache, so time has run on since then and the session may have changed.";
      el.parentNode.appendChild(note);
    });
    return;
  }
  var started = Date.now();
  function tick() {
    var elapsed = Math.floor((Date.now() - started) / 1000);
    counters.forEach(function (el) {
      var left = parseInt(el.getAttribute("data-seconds-left"), 10) - elapsed;
      el.textContent = left > 0 ? String(left) : "0 (expired)";
    });
  }
  var timer = setInterval(tick, 1000);
  // Text that changes by itself beside what a student reads can be stopped (WCAG 2.2.2): a
  // toggle button after each count pauses them all, and counting on catches up with the time.
  var buttons = [];
  function setPaused(paused) {
    clearInterval(timer);
    if (!paused) {
      tick();
      timer = setInterval(tick, 1000);
    }
    buttons.forEach(function (button) {
      button.setAttribute("aria-pressed", paused ? "true" : "false");
    });
  }
  counters.forEach(function (el) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary pause-count";
    button.textContent = "Pause the count";
    button.setAttribute("aria-pressed", "false");
    button.addEventListener("click", function () {
      setPaused(button.getAttribute("aria-pressed") !== "true");
    });
    buttons.push(button);
    el.parentNode.appendChild(document.createTextNode(" "));
    el.parentNode.appendChild(button);
  });
})();

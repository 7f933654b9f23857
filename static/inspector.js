// Counts the inspector's "seconds left" down, once a second, without reloading the page.
(function () {
  "use strict";
  var counters = document.querySelectorAll(".countdown[data-seconds-left]");
  if (!counters.length) return;
  var started = Date.now();
  function tick() {
    var elapsed = Math.floor((Date.now() - started) / 1000);
    counters.forEach(function (el) {
      var left = parseInt(el.getAttribute("data-seconds-left"), 10) - elapsed;
      el.textContent = left > 0 ? String(left) : "0 (expired)";
    });
  }
  setInterval(tick, 1000);
})();

// Writes the lesson text's commands with the address this page was opened at. The server writes
// them with the address it listens on (http://127.0.0.1:8000 in the Markdown, its own port and
// loopback once rendered), which is right on the server's own machine; a student who opened the
// page from another machine (a classroom server on 0.0.0.0, a proxy, a name instead of an
// address) needs the address in the browser's bar instead, or the commands reach their own
// machine. Text nodes only: the page's markup is never built from the address.
(function () {
  "use strict";
  var text = document.querySelector(".lesson-text[data-base-url]");
  if (!text) return;
  var written = text.getAttribute("data-base-url") + "/";
  var here = window.location.origin + "/";
  if (!window.location.origin || written === here) return;
  var walker = document.createTreeWalker(text, NodeFilter.SHOW_TEXT);
  for (var node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.nodeValue.indexOf(written) !== -1) {
      node.nodeValue = node.nodeValue.split(written).join(here);
    }
  }
})();

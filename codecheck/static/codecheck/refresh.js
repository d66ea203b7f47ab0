/* While a file waits for its check, fetch its page again and swap in the fresh part,
   until the fresh part no longer asks to be refreshed (the check is there). The region
   carries data-autorefresh="<seconds>" only while waiting. Each unchanged answer waits a
   little longer (at most 30 s); a login redirect or a missing region ends the polling. */
(function () {
  "use strict";
  var MAX_DELAY_MS = 30000;
  var region = document.querySelector("[data-autorefresh]");
  if (!region || !region.id || !window.fetch || !window.DOMParser) {
    return;
  }
  var delay = Math.max(Number(region.getAttribute("data-autorefresh")) || 2, 1) * 1000;

  function later() {
    window.setTimeout(poll, delay);
    delay = Math.min(Math.round(delay * 1.15), MAX_DELAY_MS);
  }

  function poll() {
    window.fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.redirected || !response.ok) {
          throw new Error("stop");
        }
        return response.text();
      })
      .then(function (html) {
        // A parsed document runs no script; the nodes are the server's escaped rendering.
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(region.id);
        if (!fresh) {
          return;
        }
        var current = document.getElementById(region.id);
        current.replaceWith(document.importNode(fresh, true));
        if (fresh.hasAttribute("data-autorefresh")) {
          later();
        }
      })
      .catch(function (error) {
        if (error && error.message !== "stop") {
          later(); // the network hiccuped: try again, later each time
        }
      });
  }

  later();
})();

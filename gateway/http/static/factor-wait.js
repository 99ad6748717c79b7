// The push approval page: ask vhod every two seconds whether the device answered, and
// submit the page's own form when it did (the same form the person can press by hand;
// the page works without this script). Gives up after two and a half minutes.
(function () {
  "use strict";
  var form = document.querySelector("form[data-poll]");
  if (!form || !window.fetch) { return; }
  var url = form.getAttribute("data-poll");
  var tries = 0;
  function poll() {
    tries += 1;
    if (tries > 75) { return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { state: "pending" }; })
      .then(function (body) {
        if (body.state && body.state !== "pending" && body.state !== "none") {
          form.submit();
        } else {
          window.setTimeout(poll, 2000);
        }
      })
      .catch(function () { window.setTimeout(poll, 4000); });
  }
  window.setTimeout(poll, 2000);
}());

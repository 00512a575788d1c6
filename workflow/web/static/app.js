// zcflow's own page behaviour (no inline scripts: the Content-Security-Policy allows only this
// server's scripts and nonce-carrying inline ones).
//  - <input type="checkbox" data-select-all="NAME">: ticks or clears every checkbox named NAME.
//  - <form data-confirm="…">: asks before submitting (destructive acts); cancelling submits nothing.
document.addEventListener("click", function (event) {
  var box = event.target.closest ? event.target.closest("input[data-select-all]") : null;
  if (!box) { return; }
  document.querySelectorAll("input[name='" + box.getAttribute("data-select-all") + "']").forEach(function (b) {
    b.checked = box.checked;
  });
});
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);

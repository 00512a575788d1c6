// zcflow's own page behaviour (no inline scripts: the Content-Security-Policy allows only this
// server's scripts and nonce-carrying inline ones).
//  - <input type="checkbox" data-select-all="NAME">: ticks or clears every checkbox named NAME.
//  - a required reason (textarea[required], or the reason of an action marked data-reason="1" in the
//    bulk form) must not be blank, spaces only counting as blank, as on the server: nothing is sent.
//  - the bulk form (#bulk) needs a selection and asks with the number of cases it will touch.
//  - <form data-confirm="…">: asks before submitting (destructive acts); cancelling submits nothing.
(function () {
  "use strict";
  function selected() { return document.querySelectorAll("input[name=case_ids]:checked"); }
  function showCount() {
    var out = document.querySelector("[data-testid=selected-count]");
    if (out) { var n = selected().length; out.textContent = n ? "已选 " + n + " 件" : ""; }
  }
  function refuse(event, message, focus) {
    event.preventDefault();
    event.stopImmediatePropagation();
    window.alert(message);
    if (focus) { focus.focus(); }
  }
  document.addEventListener("click", function (event) {
    var box = event.target.closest ? event.target.closest("input[data-select-all]") : null;
    if (!box) { return; }
    document.querySelectorAll("input[name='" + box.getAttribute("data-select-all") + "']").forEach(function (b) {
      b.checked = box.checked;
    });
    showCount();
  });
  document.addEventListener("change", showCount);
  document.addEventListener("htmx:afterSwap", showCount);
  document.addEventListener("DOMContentLoaded", showCount);

  // Reasons and the bulk form first (capture phase, registered before the confirmation below):
  // a form that cannot be sent is not confirmed.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || !form.method || form.method.toLowerCase() !== "post") { return; }
    var blank = Array.prototype.find.call(form.querySelectorAll("textarea[required]"),
      function (f) { return !f.value.trim(); });
    if (blank) {
      refuse(event, blank.dataset.reasonFor ? "「" + blank.dataset.reasonFor + "」须填写理由。" : "请填写理由。", blank);
      return;
    }
    if (form.id !== "bulk") { return; }
    var n = selected().length;
    var option = form.querySelector("select[name=action]").selectedOptions[0];
    var reason = form.querySelector("[name=reason]");
    if (!n) { refuse(event, "请先勾选要处理的案件。"); return; }
    if (option.dataset.reason === "1" && !reason.value.trim()) {
      refuse(event, "「" + option.dataset.label + "」须填写理由。", reason);
      return;
    }
    var warn = option.dataset.destructive === "1" ? "此操作不可撤回。" : "";
    if (!window.confirm("确定对选中的 " + n + " 件案件执行「" + option.dataset.label + "」吗？" + warn)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();

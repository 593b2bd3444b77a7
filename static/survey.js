// Progressive enhancement of the questionnaire: a progress line and inline
// checks before sending. The form works the same without this script; the
// server checks everything again and answers with the same messages.
(function () {
  "use strict";
  var form = document.querySelector("form.survey");
  if (!form) {
    return;
  }
  var items = Array.prototype.slice.call(form.querySelectorAll("fieldset.item"));
  var progress = document.getElementById("progress");
  var template = progress ? progress.getAttribute("data-template") : null;

  function answered(fieldset) {
    return fieldset.querySelector("input[type=radio]:checked") !== null;
  }

  function required(fieldset) {
    return fieldset.querySelector("input[type=radio][required]") !== null;
  }

  function update() {
    if (!progress || !template) {
      return;
    }
    var done = items.filter(answered).length;
    progress.textContent = template
      .replace("{done}", String(done))
      .replace("{total}", String(items.length));
    progress.hidden = false;
  }

  function clearError(fieldset) {
    var note = fieldset.querySelector(".error.inline");
    if (note) {
      note.parentNode.removeChild(note);
    }
    fieldset.classList.remove("invalid");
    Array.prototype.forEach.call(fieldset.querySelectorAll("input[type=radio]"), function (input) {
      input.removeAttribute("aria-invalid");
    });
  }

  function markError(fieldset, text) {
    clearError(fieldset);
    var note = document.createElement("p");
    note.className = "error inline";
    note.id = fieldset.id + "_inline";
    note.textContent = text;
    var legend = fieldset.querySelector("legend");
    legend.parentNode.insertBefore(note, legend.nextSibling);
    fieldset.classList.add("invalid");
    Array.prototype.forEach.call(fieldset.querySelectorAll("input[type=radio]"), function (input) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", note.id);
    });
  }

  form.addEventListener("change", function (event) {
    var fieldset = event.target.closest("fieldset.item");
    if (fieldset && answered(fieldset)) {
      clearError(fieldset);
    }
    update();
  });

  form.addEventListener("submit", function (event) {
    var message = form.getAttribute("data-required-message");
    var missing = items.filter(function (fieldset) {
      return required(fieldset) && !answered(fieldset);
    });
    if (missing.length === 0 || !message) {
      return;
    }
    event.preventDefault();
    missing.forEach(function (fieldset) {
      markError(fieldset, message);
    });
    var first = missing[0].querySelector("input[type=radio]");
    if (first) {
      first.focus();
    }
  });

  update();
})();

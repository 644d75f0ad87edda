// Every picker of people: a search field that becomes a combobox (WAI-ARIA 1.2 combobox with a
// listbox popup). Without JavaScript the page works as it is: the search is a submit that
// renders the matches as radio buttons. With it, typing asks the picker's JSON search (the
// same server-side search, bounded), the matches open in a listbox, Up/Down move through them,
// Enter or a click chooses, Escape closes; the choice becomes the checked radio button of the
// form's group (added when the matches shown did not hold it). A live region says how many
// matched. Served as a file: the CSP forbids inline script.
//
// Markup (macros/forms.html, `picker_search`): an element with `data-picker` holding the search
// input (`data-picker-input`), its search button (`data-picker-button`) and a status region
// (`data-picker-status`); `data-source` is the JSON URL, `data-choices` the id of the fieldset
// of radio buttons named `data-name`; the texts to announce are in data attributes, translated.
(function () {
  "use strict";
  var DELAY = 200;

  function text(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, key) {
      return values[key] === undefined ? "" : String(values[key]);
    });
  }

  function setUp(picker) {
    var input = picker.querySelector("[data-picker-input]");
    var status = picker.querySelector("[data-picker-status]");
    var choices = document.getElementById(picker.dataset.choices);
    if (!input || !status || !choices || !window.fetch) {
      return;
    }
    var name = picker.dataset.name;
    var minimum = parseInt(picker.dataset.minimum || "2", 10);
    var listId = input.id + "-listbox";
    var list = document.createElement("ul");
    list.id = listId;
    list.className = "sl-picker__list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", picker.dataset.listLabel || "");
    list.hidden = true;
    input.insertAdjacentElement("afterend", list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    picker.classList.add("sl-picker--enhanced");

    var matches = [];
    var active = -1;
    var timer = null;
    var asked = 0;

    function announce(message) {
      status.textContent = message;
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var options = list.querySelectorAll("[role=option]");
      options.forEach(function (option, i) {
        option.setAttribute("aria-selected", i === index ? "true" : "false");
        option.classList.toggle("sl-picker__option--active", i === index);
      });
      active = index;
      if (index >= 0 && options[index]) {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function show(found) {
      matches = found;
      list.textContent = "";
      found.forEach(function (person, i) {
        var option = document.createElement("li");
        option.id = listId + "-" + i;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.className = "sl-picker__option";
        option.textContent = person.name;
        if (person.detail) {
          var more = document.createElement("span");
          more.className = "sl-picker__detail";
          more.textContent = " — " + person.detail;
          option.appendChild(more);
        }
        option.addEventListener("mousedown", function (event) {
          event.preventDefault(); // keep the focus in the input
        });
        option.addEventListener("click", function () {
          choose(i);
        });
        list.appendChild(option);
      });
      if (found.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        highlight(-1);
        announce(
          text(found.length === 1 ? picker.dataset.countOne : picker.dataset.countOther, {
            count: found.length,
          })
        );
      } else {
        close();
        announce(picker.dataset.none || "");
      }
    }

    function search() {
      var query = input.value.trim();
      if (query.length < minimum) {
        matches = [];
        close();
        announce(query ? picker.dataset.short || "" : "");
        return;
      }
      var ticket = ++asked;
      var url = picker.dataset.source + (picker.dataset.source.indexOf("?") < 0 ? "?" : "&");
      fetch(url + "q=" + encodeURIComponent(query), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("status " + response.status);
          }
          return response.json();
        })
        .then(function (data) {
          if (ticket === asked) {
            show(data.matches || []);
          }
        })
        .catch(function () {
          // The search button still works: the page itself searches.
          close();
        });
    }

    function radioFor(person) {
      var radios = choices.querySelectorAll("input[type=radio]");
      for (var i = 0; i < radios.length; i++) {
        if (radios[i].name === name && radios[i].value === person.id) {
          return radios[i];
        }
      }
      var wrapper = document.createElement("div");
      wrapper.className = "utrecht-form-field sl-choice";
      var radio = document.createElement("input");
      radio.type = "radio";
      radio.className = "utrecht-radio-button utrecht-radio-button--html-input";
      radio.name = name;
      radio.value = person.id;
      radio.id = choices.id + "-" + person.id;
      var label = document.createElement("label");
      label.className = "utrecht-form-label utrecht-form-label--radio";
      label.htmlFor = radio.id;
      label.textContent = person.detail ? person.name + " (" + person.detail + ")" : person.name;
      wrapper.appendChild(radio);
      wrapper.appendChild(label);
      var first = choices.querySelector(".sl-choice");
      if (first) {
        first.insertAdjacentElement("beforebegin", wrapper);
      } else {
        choices.appendChild(wrapper);
      }
      return radio;
    }

    function choose(index) {
      var person = matches[index];
      if (!person) {
        return;
      }
      var empty = choices.querySelector("[data-picker-empty]");
      if (empty) {
        empty.hidden = true;
      }
      radioFor(person).checked = true;
      input.value = person.name;
      close();
      announce(text(picker.dataset.chosen || "{name}", { name: person.name }));
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(search, DELAY);
    });
    input.addEventListener("keydown", function (event) {
      var open = !list.hidden;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (!open && matches.length) {
          list.hidden = false;
          input.setAttribute("aria-expanded", "true");
        }
        highlight(Math.min(active + 1, matches.length - 1));
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        if (open) {
          highlight(Math.max(active - 1, 0));
        }
      } else if (event.key === "Enter") {
        // Enter chooses the highlighted match; with none highlighted it searches as the button
        // does (the page answers with the matches as radio buttons).
        if (open && active >= 0) {
          event.preventDefault();
          choose(active);
        } else {
          close();
        }
      } else if (event.key === "Escape") {
        if (open) {
          event.preventDefault();
          close();
        } else if (input.value) {
          event.preventDefault();
          input.value = "";
          announce("");
        }
      }
    });
    input.addEventListener("blur", function () {
      window.setTimeout(close, 150);
    });
  }

  document.querySelectorAll("[data-picker]").forEach(setUp);
})();

// opendi: progressive enhancements. Every page works without this file; it adds
// autocomplete to the search box (an ARIA combobox with a listbox) and sorts on change.
// Loaded as a file with `defer`: no inline script, so a strict Content-Security-Policy holds.
"use strict";

(function () {
  var DELAY_MS = 120;

  function enhanceSearchBox(input) {
    var form = input.form;
    var listId = input.id + "-suggestions";
    var wrap = document.createElement("div");
    wrap.className = "suggest-wrap";
    input.parentNode.insertBefore(wrap, input);
    wrap.appendChild(input);

    var list = document.createElement("ul");
    list.id = listId;
    list.className = "suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Suggestions");
    list.hidden = true;
    wrap.appendChild(list);

    // Screen readers hear how many suggestions appeared.
    var status = document.createElement("div");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    wrap.appendChild(status);

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", listId);
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("autocomplete", "off");

    var items = [];
    var active = -1;
    var timer = null;
    var latest = 0;

    function close() {
      list.hidden = true;
      list.textContent = "";
      items = [];
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function highlight(i) {
      active = i;
      for (var k = 0; k < items.length; k++) {
        items[k].el.setAttribute("aria-selected", k === i ? "true" : "false");
      }
      if (i >= 0) {
        input.setAttribute("aria-activedescendant", items[i].el.id);
        items[i].el.scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function choose(i) {
      if (i < 0 || i >= items.length) return;
      input.value = items[i].value;
      close();
      input.focus();
    }

    function show(suggestions) {
      close();
      if (!suggestions.length || document.activeElement !== input) {
        status.textContent = "";
        return;
      }
      suggestions.forEach(function (s, i) {
        var li = document.createElement("li");
        li.id = listId + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        var text = document.createElement("span");
        text.className = "s-text";
        text.textContent = s.text;
        var kind = document.createElement("span");
        kind.className = "s-kind";
        kind.textContent = s.kind === "term" ? "" : s.kind.replace("_", " ");
        li.appendChild(text);
        li.appendChild(kind);
        // mousedown, not click: it fires before the input loses focus.
        li.addEventListener("mousedown", function (ev) {
          ev.preventDefault();
          choose(i);
        });
        list.appendChild(li);
        items.push({ el: li, value: s.value });
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      status.textContent = suggestions.length + " suggestions; use the arrow keys to choose.";
    }

    function fetchSuggestions() {
      var q = input.value;
      var last = q.split(/[\s"(:]/).pop();
      if (last.length < 2) {
        close();
        return;
      }
      var ticket = ++latest;
      fetch("/api/v1/suggest?q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
        .then(function (body) {
          // Answers can arrive out of order: only the newest request may draw.
          if (ticket === latest) show(body.suggestions || []);
        })
        .catch(function () { close(); });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(fetchSuggestions, DELAY_MS);
    });
    input.addEventListener("keydown", function (ev) {
      if (list.hidden) {
        if (ev.key === "ArrowDown" && input.value) fetchSuggestions();
        return;
      }
      if (ev.key === "ArrowDown") {
        ev.preventDefault();
        highlight(active + 1 >= items.length ? 0 : active + 1);
      } else if (ev.key === "ArrowUp") {
        ev.preventDefault();
        highlight(active <= 0 ? items.length - 1 : active - 1);
      } else if (ev.key === "Enter") {
        if (active >= 0) {
          ev.preventDefault();
          choose(active);
        } else {
          close();
        }
      } else if (ev.key === "Escape") {
        ev.preventDefault();
        close();
      } else if (ev.key === "Tab") {
        close();
      }
    });
    input.addEventListener("blur", function () {
      setTimeout(close, 100);
    });
    if (form) {
      form.addEventListener("submit", close);
    }
  }

  function enhanceAutoSubmit(select) {
    select.addEventListener("change", function () {
      if (select.form) select.form.submit();
    });
  }

  document.querySelectorAll("input[data-suggest]").forEach(enhanceSearchBox);
  document.querySelectorAll("select[data-autosubmit]").forEach(enhanceAutoSubmit);
})();

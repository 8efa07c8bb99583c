// Strongroom dashboard: reveal and copy values on demand (each is an audited read), idle auto-lock.
"use strict";
(function () {
  const body = document.body;
  const csrf = body.dataset.csrf;

  async function fetchValues(mount, path) {
    const r = await fetch("/ui/api/reveal", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ mount: mount, path: path }),
    });
    const j = await r.json();
    if (!r.ok) { throw new Error(j.error || ("HTTP " + r.status)); }
    return j.data;
  }

  function status(msg) {
    const el = document.querySelector(".status");
    if (el) { el.textContent = msg; }
  }

  document.querySelectorAll("button.reveal").forEach(function (btn) {
    btn.addEventListener("click", async function () {
      try {
        const data = await fetchValues(btn.dataset.mount, btn.dataset.path);
        document.querySelectorAll(".masked").forEach(function (el) {
          const v = data[el.dataset.field];
          el.textContent = typeof v === "string" ? v : JSON.stringify(v);
        });
        status("Values revealed (this read was audited).");
        setTimeout(function () {
          document.querySelectorAll(".masked").forEach(function (el) { el.textContent = "••••••••"; });
          status("Values hidden again.");
        }, 30000);
      } catch (e) { status("Could not reveal: " + e.message); }
    });
  });

  document.querySelectorAll("button.copy").forEach(function (btn) {
    btn.addEventListener("click", async function () {
      try {
        const data = await fetchValues(btn.dataset.mount, btn.dataset.path);
        const v = data[btn.dataset.field];
        await navigator.clipboard.writeText(typeof v === "string" ? v : JSON.stringify(v));
        status("Copied " + btn.dataset.field + " without showing it.");
      } catch (e) { status("Could not copy: " + e.message); }
    });
  });

  const create = document.getElementById("create");
  if (create) {
    create.addEventListener("submit", function () {
      const name = document.getElementById("newpath");
      create.action = name.dataset.base + encodeURI(name.value);
    });
  }

  // idle auto-lock: the server expires idle sessions; the page follows so nothing stays on screen
  if (body.dataset.idle) {
    let last = Date.now();
    ["keydown", "mousedown", "touchstart"].forEach(function (ev) {
      document.addEventListener(ev, function () { last = Date.now(); }, { passive: true });
    });
    setInterval(function () {
      if (Date.now() - last > Number(body.dataset.idle) * 1000) { window.location.href = "/ui/login"; }
    }, 15000);
  }
})();

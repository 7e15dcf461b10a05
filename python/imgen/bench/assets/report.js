// imgen bench report: table sorting, chart hover and legend, image comparison viewers.
// Plain DOM, no library; the data sits in <script id="bench-data"> (written by imgen.bench.html).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("bench-data").textContent);

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // --- table: click (or Enter on) a heading to sort by it; again to reverse.
  var table = document.getElementById("results");
  if (table) {
    var heads = table.querySelectorAll("th");
    heads.forEach(function (th) {
      function sort() {
        var col = +th.dataset.col, numeric = th.dataset.type === "num";
        var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        heads.forEach(function (h) { h.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", dir);
        var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        var sign = dir === "ascending" ? 1 : -1;
        rows.sort(function (a, b) {
          var x = a.cells[col], y = b.cells[col];
          if (numeric) {
            var u = x.dataset.v === "" ? NaN : parseFloat(x.dataset.v);
            var v = y.dataset.v === "" ? NaN : parseFloat(y.dataset.v);
            if (isNaN(u) || isNaN(v)) return isNaN(u) - isNaN(v);  // blanks last either way
            return sign * (u - v);
          }
          return sign * x.textContent.localeCompare(y.textContent);
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") sort(); });
    });
  }

  // --- chart: hover tooltip, legend toggles.
  var tip = document.getElementById("tip");
  document.querySelectorAll(".panel .pt").forEach(function (p) {
    p.addEventListener("mousemove", function (e) {
      tip.textContent = p.dataset.tip;
      tip.hidden = false;
      tip.style.left = (e.clientX + 12) + "px";
      tip.style.top = (e.clientY + 12) + "px";
    });
    p.addEventListener("mouseleave", function () { tip.hidden = true; });
  });
  document.querySelectorAll(".legend-item").forEach(function (b) {
    b.addEventListener("click", function () {
      var on = b.getAttribute("aria-pressed") !== "true";
      b.setAttribute("aria-pressed", String(on));
      b.classList.toggle("off", !on);
      document.querySelectorAll(".panel .pt").forEach(function (p) {
        if (p.dataset.method === b.dataset.method) p.classList.toggle("hidden", !on);
      });
    });
  });

  // --- images: per image a before/after viewer and a difference map.
  function fmt(v, d) { return v === null || v === undefined ? "–" : v.toFixed(d); }

  function choices(img, level) {
    var out = [{ key: "clean", label: "clean", uri: img.clean, psnr: null },
               { key: "noisy", label: (level.name === "σ" ? "noisy σ " : "input, " + level.name + " ") + level.label, uri: level.noisy, psnr: level.noisy_psnr }];
    level.methods.forEach(function (m) {
      out.push({ key: "m:" + m.name, label: m.name, uri: m.uri, psnr: m.psnr, ssim: m.ssim });
    });
    return out;
  }

  function select(label, options, value) {
    var wrap = el("label", null, label + " "), s = el("select");
    options.forEach(function (o) {
      var opt = el("option", null, o[1]);
      opt.value = o[0];
      s.appendChild(opt);
    });
    if (value !== undefined) s.value = value;
    wrap.appendChild(s);
    return { wrap: wrap, sel: s };
  }

  function loaded(img) {
    return img.complete && img.naturalWidth ? Promise.resolve() : img.decode();
  }

  function pixels(img) {
    var c = document.createElement("canvas");
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    var g = c.getContext("2d");
    g.drawImage(img, 0, 0);
    return g.getImageData(0, 0, c.width, c.height).data;
  }

  function viewer(img, index) {
    var box = el("section", "viewer");
    box.dataset.image = img.name;
    box.appendChild(el("h3", null, img.name + " (" + img.w + "×" + img.h + " centre crop)"));
    var controls = el("div", "controls");
    var sigma = select(img.levels[0].name, img.levels.map(function (lv, i) { return [String(i), lv.label]; }));
    var left = select("left", []), right = select("right", []);
    var zoom = select("zoom", [["1", "1×"], ["2", "2×"], ["3", "3×"], ["4", "4×"]], "2");
    var gain = select("difference ×", [["1", "1"], ["4", "4"], ["16", "16"]], "4");
    [sigma, left, right, zoom, gain].forEach(function (s) { controls.appendChild(s.wrap); });
    sigma.sel.classList.add("sigma"); left.sel.classList.add("left"); right.sel.classList.add("right");
    zoom.sel.classList.add("zoom");
    box.appendChild(controls);

    var pair = el("div", "pair"), fig = el("figure"), stage = el("div", "compare");
    var a = el("img", "a"), b = el("img", "b"), handle = el("div", "handle");
    var tagL = el("span", "tag l"), tagR = el("span", "tag r");
    a.alt = "left"; b.alt = "right";
    [a, b, handle, tagL, tagR].forEach(function (e) { stage.appendChild(e); });
    var range = el("input", "slider");
    range.type = "range"; range.min = 0; range.max = 100; range.step = 0.5; range.value = 50;
    range.setAttribute("aria-label", "comparison position for " + img.name);
    var caption = el("p", "caption");
    fig.appendChild(stage); fig.appendChild(range); fig.appendChild(caption);
    var diffFig = el("figure"), diff = el("canvas", "diff");
    diff.width = img.w; diff.height = img.h;
    var diffCap = el("figcaption");
    diffFig.appendChild(diff); diffFig.appendChild(diffCap);
    pair.appendChild(fig); pair.appendChild(diffFig);
    box.appendChild(pair);

    function setPos(p) {
      p = Math.max(0, Math.min(100, p));
      range.value = p;
      b.style.clipPath = "inset(0 0 0 " + p + "%)";
      handle.style.left = p + "%";
      stage.dataset.pos = String(p);
    }
    function setZoom() {
      var z = +zoom.sel.value;
      [a, b, stage, diff].forEach(function (e) { e.style.width = img.w * z + "px"; e.style.height = img.h * z + "px"; });
    }
    var opts = [];
    function fillChoices() {
      var level = img.levels[+sigma.sel.value];
      var keepL = left.sel.value, keepR = right.sel.value;
      opts = choices(img, level);
      [left.sel, right.sel].forEach(function (s) {
        s.textContent = "";
        opts.forEach(function (o) { var opt = el("option", null, o.label); opt.value = o.key; s.appendChild(opt); });
      });
      var best = level.methods.slice().sort(function (x, y) { return (y.psnr || -1e9) - (x.psnr || -1e9); })[0];
      left.sel.value = opts.some(function (o) { return o.key === keepL; }) ? keepL : "noisy";
      right.sel.value = opts.some(function (o) { return o.key === keepR; }) ? keepR : "m:" + best.name;
    }
    function find(key) { return opts.filter(function (o) { return o.key === key; })[0]; }
    function describe(o) {
      return o.label + (o.psnr !== null && o.psnr !== undefined ? " (" + fmt(o.psnr, 2) + " dB" +
        (o.ssim !== undefined && o.ssim !== null ? ", SSIM " + fmt(o.ssim, 4) : "") + ")" : "");
    }
    function show() {
      var l = find(left.sel.value), r = find(right.sel.value);
      a.src = l.uri; b.src = r.uri;
      tagL.textContent = l.label; tagR.textContent = r.label;
      caption.textContent = "left: " + describe(l) + " | right: " + describe(r);
      var g = +gain.sel.value;
      diffCap.textContent = "|left − right| × " + g;
      Promise.all([loaded(a), loaded(b)]).then(function () {
        var p = pixels(a), q = pixels(b), ctx = diff.getContext("2d");
        var out = ctx.createImageData(diff.width, diff.height), o = out.data;
        for (var i = 0; i < o.length; i += 4) {
          var d = (Math.abs(p[i] - q[i]) + Math.abs(p[i + 1] - q[i + 1]) + Math.abs(p[i + 2] - q[i + 2])) / 3;
          var v = Math.min(255, d * g);
          o[i] = o[i + 1] = o[i + 2] = v; o[i + 3] = 255;
        }
        ctx.putImageData(out, 0, 0);
        box.dataset.ready = "1";
      });
    }
    sigma.sel.addEventListener("change", function () { fillChoices(); show(); });
    [left.sel, right.sel, gain.sel].forEach(function (s) { s.addEventListener("change", show); });
    zoom.sel.addEventListener("change", setZoom);
    range.addEventListener("input", function () { setPos(+range.value); });
    function drag(e) {
      var r = stage.getBoundingClientRect();
      setPos((e.clientX - r.left) / r.width * 100);
    }
    stage.addEventListener("pointerdown", function (e) {
      stage.setPointerCapture(e.pointerId);
      drag(e);
      stage.addEventListener("pointermove", drag);
    });
    stage.addEventListener("pointerup", function () { stage.removeEventListener("pointermove", drag); });
    fillChoices(); setZoom(); setPos(50); show();
    return box;
  }

  var viewers = document.getElementById("viewers");
  data.images.forEach(function (img, i) { viewers.appendChild(viewer(img, i)); });
})();

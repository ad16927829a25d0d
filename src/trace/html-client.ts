/**
 * The HTML report's inline script: draws the timeline on a canvas (only the
 * lanes in view: 10,000 threads stay responsive), with a time axis and
 * ticks, three layouts (virtual time, idle time collapsed, by step), zoom
 * (wheel, buttons, W/S) and pan (drag, A/D), collapsible lane groups,
 * tooltips, wake-up arrows and splat markers that scroll to their report;
 * and fills the schedule table. Text from the run is only ever set with
 * `textContent` or drawn on the canvas, never parsed as markup.
 *
 * Plain ES2017 in a string (no template literals inside, so it can live in
 * one): the report is a single static file.
 */
export const REPORT_SCRIPT = String.raw`
(function () {
  'use strict';
  var T0 = performance.now();
  var D = JSON.parse(document.getElementById('run-data').textContent);
  var marks = { parse: performance.now() - T0 };
  var T = D.timeline;
  var api = (window.dmabufLab = { ready: false });

  function msText(ns) {
    var v = (ns / 1e6).toFixed(6).replace(/\.?0+$/, '');
    return v + ' ms';
  }
  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;
    return n;
  }

  // ------------------------------------------------------------ schedule
  function undelta(a) {
    for (var i = 1; i < a.length; i++) a[i] += a[i - 1];
    return a;
  }
  function back(from, ends) {
    for (var i = 0; i < from.length; i++) from[i] = ends[i] - from[i];
  }
  if (T) {
    undelta(T.t); undelta(T.step);
    undelta(T.iv.e); back(T.iv.s, T.iv.e);
    undelta(T.mk.at);
    undelta(T.ar.ta); back(T.ar.fa, T.ar.ta);
    undelta(T.ch.at);
  }
  /** The schedule as rows built on demand (a long run has 10^5 decisions). */
  function scheduleRows() {
    var ch = T && T.ch;
    if (ch && ch.at.length) {
      var S = T.str, Q = ch.q, off = new Int32Array(ch.n.length + 1);
      for (var q0 = 0; q0 < ch.n.length; q0++) off[q0 + 1] = off[q0] + ch.n[q0];
      return {
        length: ch.at.length,
        get: function (q) {
          var alts = [], waiting = '';
          for (var j = off[q]; j < off[q + 1]; j++) {
            var op = ch.p[j] >= 0 ? Q[ch.p[j]] : null;
            if (ch.o[j] === ch.c[q]) { waiting = op || ''; continue; }
            alts.push(op !== null ? S[ch.o[j]] + ' (at ' + op + ')' : S[ch.o[j]]);
          }
          if (ch.more[q]) alts.push('and ' + ch.more[q] + ' more');
          var at = ch.at[q];
          return { n: (ch.d.length ? ch.d[q] : q) + 1, at: at, step: T.step[at], t: T.t[at], kind: Q[ch.k[q]], chosen: S[ch.c[q]], waiting: waiting, alts: alts.join(', ') };
        }
      };
    }
    return {
      length: D.decisions.length,
      get: function (k) {
        var d = D.decisions[k];
        return { n: k + 1, at: -1, step: null, t: null, kind: d.kind, chosen: d.label, waiting: '', alts: '' };
      }
    };
  }
  function initSchedule() {
    var body = document.getElementById('sched-body');
    if (!body) return;
    var rows = scheduleRows();
    var shown = 0;
    var more = document.getElementById('sched-more');
    function add(n) {
      var end = Math.min(rows.length, shown + n);
      var frag = document.createDocumentFragment();
      for (var k = shown; k < end; k++) {
        var r = rows.get(k);
        var tr = document.createElement('tr');
        var first = el('td', 'num');
        if (r.at >= 0) {
          var b = el('button', 'link', '#' + r.n);
          b.title = 'show on the timeline';
          b.setAttribute('data-at', String(r.at));
          first.appendChild(b);
        } else first.textContent = '#' + r.n;
        tr.appendChild(first);
        tr.appendChild(el('td', 'num', r.step === null ? '' : String(r.step)));
        var tt = el('td', 'num', r.t === null ? '' : msText(r.t));
        if (r.t !== null) tt.title = r.t + ' ns';
        tr.appendChild(tt);
        tr.appendChild(el('td', '', r.kind));
        tr.appendChild(el('td', '', r.chosen));
        tr.appendChild(el('td', '', r.waiting));
        tr.appendChild(el('td', 'alt', r.alts));
        frag.appendChild(tr);
      }
      body.appendChild(frag);
      shown = end;
      if (more) {
        more.style.display = shown < rows.length ? '' : 'none';
        more.textContent = 'show more (' + (rows.length - shown) + ' left)';
      }
    }
    add(500);
    if (more) more.addEventListener('click', function () { add(2000); });
    body.addEventListener('click', function (e) {
      var at = e.target && e.target.getAttribute && e.target.getAttribute('data-at');
      if (at !== null && at !== undefined && api.focusEvent) api.focusEvent(Number(at), -1);
    });
  }
  initSchedule();
  marks.schedule = performance.now() - T0;

  var host = document.getElementById('timeline');
  if (!T || T.t.length === 0) {
    if (host) host.textContent = 'No events were recorded for this run (run with --trace or --report to record them).';
    document.querySelectorAll('[data-show-splat]').forEach(function (b) { b.disabled = true; });
    api.ready = true;
    return;
  }

  // ------------------------------------------------------------ data
  var n = T.t.length;
  var NL = T.lanes.length;
  var iv = T.iv, mk = T.mk, ar = T.ar, sp = T.sp;
  function byLane(laneArr, keyArr) {
    var count = new Int32Array(NL + 1);
    for (var k = 0; k < laneArr.length; k++) count[laneArr[k] + 1]++;
    for (var l = 0; l < NL; l++) count[l + 1] += count[l];
    var ids = new Int32Array(laneArr.length), fill = count.slice(0, NL);
    for (var k2 = 0; k2 < laneArr.length; k2++) ids[fill[laneArr[k2]]++] = k2;
    for (var l2 = 0; l2 < NL; l2++) {
      var seg = Array.prototype.slice.call(ids.subarray(count[l2], count[l2 + 1]));
      seg.sort(function (a, b) { return keyArr[a] - keyArr[b]; });
      for (var q = 0; q < seg.length; q++) ids[count[l2] + q] = seg[q];
    }
    return { start: count, ids: ids };
  }
  marks.before = performance.now() - T0;
  var laneIv = byLane(iv.lane, iv.s);
  var laneMk = byLane(mk.lane, mk.at);
  var groupLanes = T.groups.map(function () { return []; });
  T.lanes.forEach(function (l, i) { groupLanes[l.g].push(i); });
  var collapsed = T.groups.map(function (_, g) { return groupLanes[g].length > 2000; });
  var showArrows = true;

  // ------------------------------------------------------------ layouts
  marks.index = performance.now() - T0;
  var layout = 'compact';
  var X = new Float64Array(n);
  var gaps = [];
  function computeLayout() {
    gaps = [];
    var i;
    if (layout === 'time') {
      for (i = 0; i < n; i++) X[i] = T.t[i];
    } else if (layout === 'step') {
      var j = 0;
      while (j < n) {
        var k = j;
        while (k < n && T.step[k] === T.step[j]) k++;
        for (i = j; i < k; i++) X[i] = T.step[j] + (0.85 * (i - j)) / (k - j);
        j = k;
      }
    } else {
      var GAP = 6, x = 0;
      for (i = 0; i < n; i++) {
        if (i > 0 && T.t[i] > T.t[i - 1]) {
          gaps.push({ x: x + 0.5, w: GAP, from: T.t[i - 1], to: T.t[i] });
          x += GAP;
        }
        X[i] = x;
        x += 1;
      }
    }
  }
  computeLayout();
  function fullRange() {
    var a = X[0], b = X[n - 1];
    if (b - a <= 0) b = a + 1;
    var pad = (b - a) * 0.01;
    return [a - pad, b + pad];
  }
  var view = fullRange();
  var minSpan = 1e-3;
  function firstAtOrAfter(x) {
    var lo = 0, hi = n;
    while (lo < hi) { var m = (lo + hi) >> 1; if (X[m] < x) lo = m + 1; else hi = m; }
    return lo;
  }

  // ------------------------------------------------------------ DOM
  var scroll = document.getElementById('tl-scroll');
  var canvas = document.getElementById('tl-canvas');
  var spacer = document.getElementById('tl-spacer');
  var markers = document.getElementById('tl-markers');
  var tip = document.getElementById('tl-tip');
  var rangeText = document.getElementById('tl-range');
  var ctx = canvas.getContext('2d');
  var AXIS = 30, GH = 22, W = 800, CH = 400, LW = 200, dpr = 1;
  function plotW() { return Math.max(50, W - LW - 10); }
  function px(x) { return LW + ((x - view[0]) / (view[1] - view[0])) * plotW(); }
  function xAt(p) { return view[0] + ((p - LW) / plotW()) * (view[1] - view[0]); }

  // Vertical layout: group headers and lanes.
  var rows = [];
  var laneY = new Float64Array(NL), laneH = new Float64Array(NL), laneVisible = new Uint8Array(NL);
  var groupY = [];
  var totalH = 0;
  function laneHeight(l) { var r = T.lanes[l].rows; return Math.max(20, Math.min(r * 12 + 6, 78)); }
  function computeRows() {
    rows = [];
    var y = 0;
    laneVisible.fill(0);
    T.groups.forEach(function (name, g) {
      if (!groupLanes[g].length) return;
      groupY[g] = y;
      rows.push({ kind: 'group', g: g, y: y, h: GH });
      y += GH;
      if (collapsed[g]) return;
      groupLanes[g].forEach(function (l) {
        var h = laneHeight(l);
        laneY[l] = y; laneH[l] = h; laneVisible[l] = 1;
        rows.push({ kind: 'lane', l: l, y: y, h: h });
        y += h;
      });
    });
    totalH = y;
  }
  computeRows();
  function rowIndexAt(y) {
    var lo = 0, hi = rows.length - 1;
    while (lo < hi) { var m = (lo + hi + 1) >> 1; if (rows[m].y <= y) lo = m; else hi = m - 1; }
    return lo;
  }
  /** Where lane l's middle is on the canvas (clamped to its group header when collapsed). */
  function laneMid(l) {
    var st = scroll.scrollTop;
    if (laneVisible[l]) return AXIS + laneY[l] - st + laneH[l] / 2;
    return AXIS + groupY[T.lanes[l].g] - st + GH / 2;
  }

  function resize() {
    dpr = window.devicePixelRatio || 1;
    W = Math.max(320, host.clientWidth);
    // As tall as the lanes need, up to most of the window.
    scroll.style.height = Math.round(Math.max(180, Math.min(window.innerHeight * 0.7, AXIS + totalH + 12))) + 'px';
    CH = scroll.clientHeight;
    LW = Math.round(Math.min(260, Math.max(130, W * 0.17)));
    canvas.width = Math.round(W * dpr);
    canvas.height = Math.round(CH * dpr);
    canvas.style.width = W + 'px';
    canvas.style.height = CH + 'px';
    spacer.style.height = Math.max(0, AXIS + totalH + 8 - CH) + 'px';
    labelCache = {};
  }

  var labelCache = {};
  function fitLabel(text, max) {
    var key = max + '|' + text;
    var c = labelCache[key];
    if (c !== undefined) return c;
    var s = text;
    if (ctx.measureText(s).width > max) {
      var lo = 0, hi = s.length;
      while (lo < hi) { var m = (lo + hi + 1) >> 1; if (ctx.measureText(s.slice(0, m) + '…').width <= max) lo = m; else hi = m - 1; }
      s = s.slice(0, lo) + '…';
    }
    labelCache[key] = s;
    return s;
  }

  // ------------------------------------------------------------ axis
  function niceStep(span, target) {
    var raw = span / target, p = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
  }
  function tickLabel(x) {
    if (layout === 'time') return msText(x);
    if (layout === 'step') return 'step ' + Math.round(x);
    return msText(T.t[Math.min(n - 1, firstAtOrAfter(x))]);
  }
  function drawAxis() {
    ctx.fillStyle = '#fafbfc';
    ctx.fillRect(0, 0, W, AXIS);
    ctx.strokeStyle = '#d8dbe0';
    ctx.beginPath(); ctx.moveTo(0, AXIS - 0.5); ctx.lineTo(W, AXIS - 0.5); ctx.stroke();
    ctx.fillStyle = '#667';
    ctx.font = '11px system-ui, sans-serif';
    ctx.textBaseline = 'alphabetic';
    ctx.fillText(layout === 'time' ? 'virtual time' : layout === 'step' ? 'scheduling step' : 'events (idle time collapsed)', 8, 18);
    var span = view[1] - view[0];
    var step = niceStep(span, Math.max(2, plotW() / 110));
    if (layout === 'step' && step < 1) step = 1;
    var first = Math.ceil(view[0] / step) * step;
    ctx.strokeStyle = '#c5c9d0';
    var prev = '', lastEnd = -1;
    for (var x = first; x <= view[1]; x += step) {
      var p = Math.round(px(x)) + 0.5;
      if (p < LW) continue;
      ctx.beginPath(); ctx.moveTo(p, AXIS - 7); ctx.lineTo(p, AXIS); ctx.stroke();
      api.ticks++;
      var label = tickLabel(x);
      if (label === prev || p < lastEnd) continue;
      prev = label;
      ctx.fillText(label, p + 3, AXIS - 10);
      lastEnd = p + 3 + ctx.measureText(label).width + 6;
    }
  }

  // ------------------------------------------------------------ drawing
  var STY = T.styles;
  function drawLane(l, top) {
    var h = laneH[l], nrows = T.lanes[l].rows, rh = (h - 6) / nrows;
    var a = laneIv.start[l], b = laneIv.start[l + 1];
    var lastPx = -1, lastK = -1, lastRow = -1;
    for (var q = a; q < b; q++) {
      var id = laneIv.ids[q];
      var s = iv.s[id], e = iv.e[id];
      if (X[s] > view[1]) break;
      if (X[e] < view[0]) continue;
      var x0 = Math.max(LW, px(X[s])), x1 = Math.min(W, px(X[e]));
      var k = iv.k[id], st = STY[k];
      if (st.thin) {
        ctx.fillStyle = st.color;
        ctx.fillRect(x0, top + h / 2 - 2, Math.max(1, x1 - x0), 4);
        continue;
      }
      var row = iv.row[id];
      var w = x1 - x0;
      if (w < 1) {
        var pxi = Math.floor(x0);
        if (pxi === lastPx && k === lastK && row === lastRow) continue;
        lastPx = pxi; lastK = k; lastRow = row;
        w = 1;
      }
      ctx.fillStyle = st.color;
      ctx.fillRect(x0, top + 3 + row * rh, w, Math.max(1, rh - (rh > 4 ? 1 : 0)));
    }
    a = laneMk.start[l]; b = laneMk.start[l + 1];
    lastPx = -1;
    for (var r = a; r < b; r++) {
      var mid = laneMk.ids[r], at = mk.at[mid];
      if (X[at] < view[0]) continue;
      if (X[at] > view[1]) break;
      var p = Math.round(px(X[at]));
      if (p === lastPx) continue;
      lastPx = p;
      ctx.fillStyle = STY[mk.k[mid]].color;
      ctx.beginPath();
      ctx.moveTo(p, top + 2); ctx.lineTo(p + 4, top + h / 2); ctx.lineTo(p, top + h - 2); ctx.lineTo(p - 4, top + h / 2);
      ctx.closePath(); ctx.fill();
    }
  }
  function drawArrows() {
    if (!showArrows) return;
    ctx.strokeStyle = 'rgba(21,101,192,0.75)';
    ctx.fillStyle = 'rgba(21,101,192,0.9)';
    ctx.lineWidth = 1.2;
    var drawn = 0;
    for (var i = 0; i < ar.fa.length && drawn < 4000; i++) {
      // Both ends on lanes in view (an arrow into a collapsed group says nothing).
      if (!laneVisible[ar.fl[i]] || !laneVisible[ar.tl[i]]) continue;
      var xa = X[ar.fa[i]], xb = X[ar.ta[i]];
      if (xb < view[0] || xa > view[1]) continue;
      var ya = laneMid(ar.fl[i]), yb = laneMid(ar.tl[i]);
      if ((ya < AXIS && yb < AXIS) || (ya > CH && yb > CH)) continue;
      var pa = px(xa), pb = px(xb);
      ctx.beginPath();
      ctx.moveTo(pa, ya);
      var dx = Math.max(12, (pb - pa) / 2);
      ctx.bezierCurveTo(pa + dx, ya, pb - dx, yb, pb, yb);
      ctx.stroke();
      ctx.beginPath(); ctx.moveTo(pb, yb); ctx.lineTo(pb - 6, yb - 3.5); ctx.lineTo(pb - 6, yb + 3.5); ctx.closePath(); ctx.fill();
      drawn++;
    }
    ctx.lineWidth = 1;
    api.arrowsDrawn = drawn;
  }
  function drawGaps() {
    if (layout !== 'compact') return;
    for (var i = 0; i < gaps.length; i++) {
      var g = gaps[i];
      if (g.x + g.w < view[0] || g.x > view[1]) continue;
      var a = Math.max(LW, px(g.x)), b = Math.min(W, px(g.x + g.w - 1));
      if (b - a < 1) continue;
      ctx.fillStyle = 'rgba(236,239,244,0.7)';
      ctx.fillRect(a, AXIS, b - a, CH - AXIS);
      ctx.fillStyle = '#556';
      ctx.font = '10px system-ui, sans-serif';
      ctx.textBaseline = 'alphabetic';
      var label = '+' + msText(g.to - g.from) + ' idle';
      if (ctx.measureText(label).width + 6 < b - a) ctx.fillText(label, a + 3, AXIS + 11);
      else if (b - a > 10) ctx.fillText('…', a + 2, AXIS + 11);
    }
  }
  function draw() {
    var t0 = performance.now();
    api.ticks = 0;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, CH);
    var st = scroll.scrollTop;
    var lanesDrawn = 0;
    if (rows.length) {
      var r0 = rowIndexAt(st);
      for (var ri = r0; ri < rows.length; ri++) {
        var r = rows[ri];
        var top = AXIS + r.y - st;
        if (top > CH) break;
        if (r.kind === 'group') {
          ctx.fillStyle = '#eef1f5';
          ctx.fillRect(0, top, W, r.h);
          ctx.fillStyle = '#333';
          ctx.font = '600 12px system-ui, sans-serif';
          ctx.textBaseline = 'middle';
          ctx.fillText((collapsed[r.g] ? '▸ ' : '▾ ') + T.groups[r.g] + ' (' + groupLanes[r.g].length + (collapsed[r.g] ? ', collapsed: click to expand)' : ')'), 8, top + r.h / 2);
        } else {
          if (ri % 2) { ctx.fillStyle = '#fbfbfd'; ctx.fillRect(0, top, W, r.h); }
          ctx.strokeStyle = '#eef0f3';
          ctx.beginPath(); ctx.moveTo(0, top + r.h - 0.5); ctx.lineTo(W, top + r.h - 0.5); ctx.stroke();
          ctx.save();
          ctx.beginPath(); ctx.rect(LW, top, W - LW, r.h); ctx.clip();
          drawLane(r.l, top);
          ctx.restore();
          ctx.fillStyle = '#222';
          ctx.font = '12px system-ui, sans-serif';
          ctx.textBaseline = 'middle';
          ctx.fillText(fitLabel(T.str[T.lanes[r.l].n], LW - 14), 8, top + Math.min(r.h / 2, 10));
          lanesDrawn++;
        }
      }
    }
    ctx.save();
    ctx.beginPath(); ctx.rect(LW, AXIS, W - LW, CH - AXIS); ctx.clip();
    drawGaps();
    drawArrows();
    ctx.strokeStyle = 'rgba(217,48,37,0.8)';
    for (var s = 0; s < sp.at.length; s++) {
      var p = Math.round(px(X[sp.at[s]])) + 0.5;
      if (p < LW || p > W) continue;
      ctx.beginPath(); ctx.moveTo(p, AXIS); ctx.lineTo(p, CH); ctx.stroke();
    }
    ctx.restore();
    ctx.strokeStyle = '#d8dbe0';
    ctx.beginPath(); ctx.moveTo(LW - 0.5, AXIS); ctx.lineTo(LW - 0.5, CH); ctx.stroke();
    drawAxis();
    placeMarkers();
    api.lanesDrawn = lanesDrawn;
    var i0 = Math.min(n - 1, firstAtOrAfter(view[0])), i1 = Math.max(0, Math.min(n - 1, firstAtOrAfter(view[1]) - 1));
    rangeText.textContent = layout === 'time'
      ? 'showing ' + msText(Math.max(0, view[0])) + ' to ' + msText(Math.max(0, view[1]))
      : 'showing ' + msText(T.t[i0]) + ' (step ' + T.step[i0] + ') to ' + msText(T.t[Math.max(i0, i1)]) + ' (step ' + T.step[Math.max(i0, i1)] + ')';
    rangeText.title = 'events ' + i0 + ' to ' + i1 + ' of ' + n;
    api.drawMs = performance.now() - t0;
  }
  var pending = false;
  function redraw() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; draw(); });
  }

  // Splat markers: DOM buttons over the axis, so they are links and can be tabbed to.
  var markerEls = [];
  for (var si = 0; si < sp.at.length; si++) {
    var m = document.createElement('button');
    m.className = 'splat-marker';
    var info = D.splats[sp.idx[si]] || { rule: 'splat', headline: '' };
    m.title = '[' + info.rule + '] ' + info.headline + ' (click: its report)';
    m.setAttribute('aria-label', m.title);
    m.setAttribute('data-splat', String(sp.idx[si]));
    markers.appendChild(m);
    markerEls.push(m);
  }
  markers.addEventListener('click', function (e) {
    var idx = e.target && e.target.getAttribute('data-splat');
    if (idx === null || idx === undefined) return;
    var report = document.getElementById('splat-' + idx);
    if (report) {
      report.scrollIntoView({ block: 'start' });
      report.classList.remove('flash'); void report.offsetWidth; report.classList.add('flash');
    }
  });
  function placeMarkers() {
    for (var i = 0; i < markerEls.length; i++) {
      var p = px(X[sp.at[i]]);
      var vis = p >= LW - 2 && p <= W + 2;
      markerEls[i].style.display = vis ? '' : 'none';
      markerEls[i].style.left = p + 'px';
      markerEls[i].style.top = (2 + (i % 2) * 4) + 'px';
    }
  }

  // ------------------------------------------------------------ interaction
  function setView(a, b) {
    var f = fullRange(), full = f[1] - f[0];
    var span = Math.min(Math.max(b - a, minSpan), full * 1.5);
    var mid = (a + b) / 2;
    a = mid - span / 2; b = mid + span / 2;
    if (a < f[0] - full * 0.25) { b += f[0] - full * 0.25 - a; a = f[0] - full * 0.25; }
    if (b > f[1] + full * 0.25) { a -= b - f[1] - full * 0.25; b = f[1] + full * 0.25; }
    view = [a, b];
    redraw();
  }
  function zoomAt(factor, p) {
    var x = xAt(p), a = view[0], b = view[1];
    setView(x - (x - a) * factor, x + (b - x) * factor);
  }
  function reset() { view = fullRange(); redraw(); }
  function setLayout(name) {
    var mid = Math.min(n - 1, firstAtOrAfter((view[0] + view[1]) / 2));
    var frac = (view[1] - view[0]) / (fullRange()[1] - fullRange()[0]);
    layout = name;
    computeLayout();
    minSpan = layout === 'time' ? 10 : 1e-3;
    if (frac >= 0.99) reset();
    else {
      var f = fullRange(), span = (f[1] - f[0]) * frac;
      setView(X[mid] - span / 2, X[mid] + span / 2);
    }
    document.getElementById('tl-layout').value = name;
  }
  function focusEvent(at, splat) {
    host.scrollIntoView({ block: 'start' });
    var a = Math.max(0, at - 60), b = Math.min(n - 1, at + 60);
    var span = Math.max(X[b] - X[a], layout === 'time' ? 1000 : 8);
    setView(X[at] - span / 2, X[at] + span / 2);
    if (splat >= 0) {
      var k = sp.idx.indexOf(splat);
      var m = markerEls[k];
      if (m) { m.classList.remove('flash'); void m.offsetWidth; m.classList.add('flash'); }
    }
  }

  canvas.addEventListener('wheel', function (e) {
    var r = canvas.getBoundingClientRect(), p = e.clientX - r.left;
    if (p < LW && !e.ctrlKey) return; // over the lane names: scroll the lanes
    e.preventDefault();
    if (e.shiftKey) { scroll.scrollTop += e.deltaY || e.deltaX; return; }
    if (Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
      var d = (e.deltaX / plotW()) * (view[1] - view[0]);
      setView(view[0] + d, view[1] + d);
      return;
    }
    zoomAt(Math.exp(e.deltaY * (e.deltaMode ? 0.05 : 0.0015)), p);
  }, { passive: false });
  var drag = null;
  canvas.addEventListener('mousedown', function (e) {
    var r = canvas.getBoundingClientRect();
    drag = { x: e.clientX, y: e.clientY, v: view.slice(), top: scroll.scrollTop, moved: false, p: e.clientX - r.left, q: e.clientY - r.top };
    canvas.classList.add('dragging');
  });
  window.addEventListener('mousemove', function (e) {
    if (!drag) return;
    var dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    if (!drag.moved) return;
    var d = (dx / plotW()) * (drag.v[1] - drag.v[0]);
    view = [drag.v[0] - d, drag.v[1] - d];
    scroll.scrollTop = drag.top - dy;
    redraw();
  });
  window.addEventListener('mouseup', function () {
    if (!drag) return;
    var wasClick = !drag.moved, p = drag.p, q = drag.q;
    drag = null;
    canvas.classList.remove('dragging');
    if (wasClick) click(p, q);
  });
  function rowAt(q) {
    if (q < AXIS || !rows.length) return null;
    var y = q - AXIS + scroll.scrollTop;
    var r = rows[rowIndexAt(y)];
    return r && y < r.y + r.h ? r : null;
  }
  function click(p, q) {
    var r = rowAt(q);
    if (r && r.kind === 'group') { toggleGroup(r.g); return; }
    // a click near a splat line on its lane also opens the report
    for (var s = 0; s < sp.at.length; s++) {
      if (Math.abs(px(X[sp.at[s]]) - p) <= 3 && r && r.kind === 'lane' && sp.lane[s] === r.l) {
        markerEls[s].click();
        return;
      }
    }
  }
  function toggleGroup(g, value) {
    collapsed[g] = value === undefined ? !collapsed[g] : value;
    var box = document.querySelector('input[data-group="' + g + '"]');
    if (box) box.checked = !collapsed[g];
    computeRows();
    resize();
    redraw();
  }
  function describe(p, q) {
    var r = rowAt(q);
    if (!r) return null;
    if (r.kind === 'group') return T.groups[r.g] + ': ' + groupLanes[r.g].length + ' lanes (click to ' + (collapsed[r.g] ? 'expand' : 'collapse') + ')';
    var l = r.l, lines = [T.str[T.lanes[l].n]];
    if (p < LW) return lines[0];
    var x = xAt(p), tol = ((view[1] - view[0]) / plotW()) * 4;
    var a = laneMk.start[l], b = laneMk.start[l + 1];
    for (var k = a; k < b; k++) {
      var m = laneMk.ids[k], at = mk.at[m];
      if (X[at] > x + tol) break;
      if (Math.abs(X[at] - x) <= tol) lines.push('◆ ' + T.str[mk.l[m]] + '\n   at ' + msText(T.t[at]) + ' (' + T.t[at] + ' ns), step ' + T.step[at]);
      if (lines.length > 6) break;
    }
    a = laneIv.start[l]; b = laneIv.start[l + 1];
    for (var j = a; j < b && lines.length < 8; j++) {
      var id = laneIv.ids[j], s = iv.s[id], e = iv.e[id];
      if (X[s] > x + tol) break;
      if (X[e] + tol < x) continue;
      lines.push(T.str[iv.l[id]] + '\n   ' + msText(T.t[s]) + ' → ' + msText(T.t[e]) + ' (' + T.t[s] + ' → ' + T.t[e] + ' ns), steps ' + T.step[s] + '–' + T.step[e]);
    }
    return lines.join('\n');
  }
  canvas.addEventListener('mousemove', function (e) {
    if (drag && drag.moved) { tip.style.display = 'none'; return; }
    var r = canvas.getBoundingClientRect(), p = e.clientX - r.left, q = e.clientY - r.top;
    var text = describe(p, q);
    if (!text) { tip.style.display = 'none'; return; }
    tip.textContent = text;
    tip.style.display = 'block';
    var hr = host.getBoundingClientRect();
    var left = e.clientX - hr.left + 14, top = e.clientY - hr.top + 14;
    if (left + 360 > hr.width) left = Math.max(0, e.clientX - hr.left - 370);
    tip.style.left = left + 'px';
    tip.style.top = top + 'px';
  });
  canvas.addEventListener('mouseleave', function () { tip.style.display = 'none'; });
  scroll.addEventListener('scroll', redraw);
  window.addEventListener('resize', function () { resize(); redraw(); });
  host.addEventListener('keydown', function (e) {
    var k = e.key.toLowerCase(), mid = LW + plotW() / 2, span = view[1] - view[0];
    if (k === 'w' || k === '+' || k === '=') zoomAt(0.7, mid);
    else if (k === 's' || k === '-') zoomAt(1 / 0.7, mid);
    else if (k === 'a') setView(view[0] - span * 0.2, view[1] - span * 0.2);
    else if (k === 'd') setView(view[0] + span * 0.2, view[1] + span * 0.2);
    else if (k === '0') reset();
    else return;
    e.preventDefault();
  });
  document.getElementById('tl-zoom-in').addEventListener('click', function () { zoomAt(0.5, LW + plotW() / 2); });
  document.getElementById('tl-zoom-out').addEventListener('click', function () { zoomAt(2, LW + plotW() / 2); });
  document.getElementById('tl-reset').addEventListener('click', reset);
  document.getElementById('tl-layout').addEventListener('change', function (e) { setLayout(e.target.value); });
  document.getElementById('tl-arrows').addEventListener('change', function (e) { showArrows = e.target.checked; redraw(); });
  var groupBox = document.getElementById('tl-groups');
  T.groups.forEach(function (name, g) {
    if (!groupLanes[g].length) return;
    var label = document.createElement('label');
    var box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = !collapsed[g];
    box.setAttribute('data-group', String(g));
    box.addEventListener('change', function () { toggleGroup(g, !box.checked); });
    label.appendChild(box);
    label.appendChild(document.createTextNode(' ' + name + ' (' + groupLanes[g].length + ')'));
    groupBox.appendChild(label);
  });
  document.querySelectorAll('[data-show-splat]').forEach(function (b) {
    b.addEventListener('click', function () {
      var idx = Number(b.getAttribute('data-show-splat'));
      var k = sp.idx.indexOf(idx);
      if (k >= 0) focusEvent(sp.at[k], idx);
    });
  });

  api.view = function () { return { from: view[0], to: view[1], layout: layout, text: rangeText.textContent }; };
  api.setLayout = setLayout;
  api.reset = reset;
  api.focusEvent = focusEvent;
  api.toggleGroup = toggleGroup;
  api.laneNames = function () { return T.lanes.map(function (l) { return T.str[l.n]; }); };
  /** Where splat marker k is, in the current view's coordinates (for checks). */
  api.splatX = function (k) { return X[sp.at[k]]; };
  /** Client coordinates of the middle of lane l's label (scrolled into view first). */
  api.laneLabelPoint = function (l) {
    if (!laneVisible[l]) return null;
    scroll.scrollTop = Math.max(0, laneY[l] - 20);
    draw();
    var r = canvas.getBoundingClientRect();
    return { x: r.left + 20, y: r.top + AXIS + laneY[l] - scroll.scrollTop + Math.min(laneH[l] / 2, 10) };
  };
  api.lanes = function () { return { lanes: NL, groups: T.groups.filter(function (_, g) { return groupLanes[g].length; }) }; };
  marks.setup = performance.now() - T0;
  resize();
  draw();
  marks.draw = performance.now() - T0;
  api.marks = marks;
  api.readyAt = performance.now();
  api.ready = true;
})();
`;

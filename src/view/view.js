// SPDX-License-Identifier: GPL-2.0
// The page `dhtrace view` writes: summary, heap over time (SVG), flame
// graph (canvas) and call-site table, drawn from the JSON block
// #dhtrace-data. Nothing is fetched: everything is in this one file.
'use strict';
(function () {
  const DATA = JSON.parse(document.getElementById('dhtrace-data').textContent);
  const DIFF = DATA.kind === 'diff';
  const FILES = DATA.files;
  const CUR = FILES[FILES.length - 1]; // the only file, or NEW
  const $ = (id) => document.getElementById(id);
  const METRICS = ['total', 'total_blocks', 'peak', 'peak_blocks', 'end', 'end_blocks'];
  const SVGNS = 'http://www.w3.org/2000/svg';

  // ---- numbers, as src/out/units.c writes them ----
  const UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  function thousands(v) {
    return String(v).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  }
  function bytesShort(v) {
    let x = v, u = -1;
    while (x >= 1024 && u < 5) { x /= 1024; u++; }
    return u < 0 ? v + ' B' : x.toFixed(1) + ' ' + UNITS[u];
  }
  function bytes(v) {
    return v < 1024 ? thousands(v) + ' B' : thousands(v) + ' B (' + bytesShort(v) + ')';
  }
  function signed(b, n) {
    return (n < b ? '-' : '+') + thousands(Math.abs(n - b));
  }
  function percent(b, n) {
    if (!b) return n ? '+inf%' : '+0.0%';
    let p = (n - b) * 100 / b;
    if (p < 0 && p > -0.05) p = -0.05;
    return (p >= 0 ? '+' : '') + p.toFixed(1) + '%';
  }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  // The text after "0x...: ": the same frame in every run.
  function frameText(s) {
    return s.replace(/^0x[0-9A-Fa-f]+: /, '');
  }

  // ---- summary ----
  function summaryRows(f) {
    const s = f.summary;
    const rows = [['Command', s.cmd || '?']];
    if (s.pid !== null) rows.push(['PID', String(s.pid)]);
    if (s.duration) rows.push(['Duration', s.duration]);
    rows.push(['Total', s.total]);
    rows.push(['At t-gmax', s.peak + (s.when ? ', ' + s.when : '')]);
    rows.push(['At t-end', s.end]);
    if (s.sampling) rows.push(['Sampling', s.sampling]); // formatted by C
    if (s.overhead) rows.push(['Overhead', s.overhead]); // formatted by C
    return rows;
  }
  function showSummary() {
    const t = $('summary');
    if (!DIFF) {
      $('title').textContent = 'dhtrace view';
      $('files').textContent = CUR.name;
      for (const [k, v] of summaryRows(CUR)) {
        const tr = t.insertRow();
        tr.appendChild(el('th', '', k));
        const td = el('td', 'num', v);
        td.dataset.key = k;
        tr.appendChild(td);
      }
      document.title = 'dhtrace view: ' + CUR.name;
      return;
    }
    $('title').textContent = 'dhtrace view: diff';
    $('files').textContent = 'BASE ' + FILES[0].name + '  →  NEW ' + FILES[1].name;
    document.title = 'dhtrace diff: ' + FILES[0].name + ' → ' + FILES[1].name;
    const head = t.insertRow();
    for (const h of ['', 'BASE', 'NEW', 'change']) head.appendChild(el('th', '', h));
    const a = new Map(summaryRows(FILES[0])), b = new Map(summaryRows(FILES[1]));
    const keys = [...new Set([...a.keys(), ...b.keys()])];
    const change = {
      'Total': [0, 1], 'At t-gmax': [2, 3], 'At t-end': [4, 5],
    };
    for (const k of keys) {
      const tr = t.insertRow();
      tr.appendChild(el('th', '', k));
      tr.appendChild(el('td', 'num', a.get(k) || ''));
      tr.appendChild(el('td', 'num', b.get(k) || ''));
      let c = '';
      if (change[k]) {
        const [i, j] = change[k];
        const m0 = FILES[0].summary.metrics, m1 = FILES[1].summary.metrics;
        const bi = m0[METRICS[i]], ni = m1[METRICS[i]];
        c = signed(bi, ni) + ' B (' + percent(bi, ni) + '), ' +
          signed(m0[METRICS[j]], m1[METRICS[j]]) + ' blocks';
        tr.className = ni > bi ? 'grew' : ni < bi ? 'shrank' : '';
      }
      tr.appendChild(el('td', 'num', c));
    }
  }

  // ---- heap over time ----
  function svg(tag, attrs, parent) {
    const e = document.createElementNS(SVGNS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  // The bucket of time @t: the last whose start is at most t.
  function bucketAt(tl, t) {
    let lo = 0, hi = tl.t.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (tl.t[mid] <= t) lo = mid; else hi = mid - 1;
    }
    return lo;
  }
  function showChart() {
    const tl = CUR.timeline;
    if (!tl || !tl.t.length) return;
    $('chart-part').hidden = false;
    const base = DIFF ? FILES[0].timeline : null;
    const W = Math.max(400, $('chart').clientWidth || 900), H = 220;
    // the marks' names above the plot, t-end's right of its line
    const L = 80, R = 40, T = 20, B = 26;
    const s = CUR.summary;
    const end = (a) => a.t[a.t.length - 1] + a.bucketUs;
    let xmax = Math.max(end(tl), s.te || 0, 1);
    let ymax = Math.max(...tl.bytesMax, 1);
    if (base && base.t.length) {
      xmax = Math.max(xmax, end(base), FILES[0].summary.te || 0);
      ymax = Math.max(ymax, ...base.bytesMax);
    }
    const X = (t) => L + (W - L - R) * t / xmax;
    const Y = (v) => T + (H - T - B) * (1 - v / ymax);
    const root = svg('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H });
    svg('line', { class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B }, root);
    svg('line', { class: 'axis', x1: L, y1: T, x2: L, y2: H - B }, root);
    for (const v of [0, ymax / 2, ymax]) {
      svg('text', { x: L - 4, y: Y(v) + 4, 'text-anchor': 'end' }, root).textContent =
        bytesShort(Math.round(v));
    }
    const unit = s.tu || '';
    svg('text', { x: L, y: H - 8 }, root).textContent = '0';
    svg('text', { x: W - R, y: H - 8, 'text-anchor': 'end' }, root).textContent =
      thousands(xmax) + ' ' + unit;
    // the band between each bucket's lowest and highest, the highest as
    // a step line: the peak is never smoothed away
    const n = tl.t.length, top = [], low = [];
    for (let i = 0; i < n; i++) {
      const x0 = X(tl.t[i]), x1 = X(tl.t[i] + tl.bucketUs);
      top.push(x0 + ',' + Y(tl.bytesMax[i]), x1 + ',' + Y(tl.bytesMax[i]));
      low.push(x0 + ',' + Y(tl.bytesMin[i]), x1 + ',' + Y(tl.bytesMin[i]));
    }
    svg('polygon', { class: 'band', points: top.concat(low.reverse()).join(' ') }, root);
    if (base && base.t.length) {
      const pts = [];
      for (let i = 0; i < base.t.length; i++) {
        pts.push(X(base.t[i]) + ',' + Y(base.bytesMax[i]),
          X(base.t[i] + base.bucketUs) + ',' + Y(base.bytesMax[i]));
      }
      svg('polyline', { class: 'base', points: pts.join(' ') }, root);
    }
    const line = svg('polyline', { class: 'line', points: top.join(' ') }, root);
    line.dataset.buckets = n;
    const marks = [];
    if (s.hasTimes) marks.push(['t-gmax', s.tg], ['t-end', s.te]);
    // t-gmax's name right of its line, or left when t-end's is near
    // (an 11px "t-gmax" is some 35px wide)
    const gmaxLeft = X(s.te) - X(s.tg) < 45;
    for (const [name, t] of marks) {
      const m = svg('line', { class: 'mark', x1: X(t), y1: T, x2: X(t), y2: H - B }, root);
      m.dataset.mark = name;
      m.dataset.t = t;
      const left = name === 't-gmax' && gmaxLeft;
      svg('text', { x: X(t) + (left ? -3 : 3), y: T - 6,
        'text-anchor': left ? 'end' : 'start' }, root).textContent = name;
    }
    const cursor = svg('line', { class: 'cursor', x1: 0, y1: T, x2: 0, y2: H - B,
      visibility: 'hidden' }, root);
    root.addEventListener('mousemove', (ev) => {
      const r = root.getBoundingClientRect();
      const t = (ev.clientX - r.left - L) / (W - L - R) * xmax;
      if (t < 0 || t > xmax) return;
      const i = bucketAt(tl, t);
      cursor.setAttribute('x1', X(tl.t[i]));
      cursor.setAttribute('x2', X(tl.t[i]));
      cursor.setAttribute('visibility', 'visible');
      const tip = $('chart-tip');
      tip.dataset.bucket = i;
      tip.textContent = thousands(tl.t[i]) + '–' + thousands(tl.t[i] + tl.bucketUs) + ' ' +
        unit + ': ' + bytes(tl.bytesLast[i]) + ' live at its end, highest ' +
        bytes(tl.bytesMax[i]) + ', lowest ' + bytes(tl.bytesMin[i]) + '; ' +
        thousands(tl.blocksLast[i]) + ' blocks (' + thousands(tl.blocksMin[i]) + '–' +
        thousands(tl.blocksMax[i]) + '); ' + thousands(tl.allocs[i]) + ' allocations, ' +
        thousands(tl.frees[i]) + ' frees';
    });
    $('chart').appendChild(root);
  }

  // ---- flame graph (an icicle: the root on top) ----
  const STAT = { tb: 0, gb: 5, eb: 7 };
  const DIFFSTAT = { tb: 0, gb: 2, eb: 4 };
  function node(name, parent) {
    return { name: name, parent: parent, kids: new Map(), v: [0, 0, 0], b: [0, 0, 0],
      depth: parent ? parent.depth + 1 : 0 };
  }
  // Adds the shown frames of each site of @f (outermost first) to @root;
  // @side 'v' (NEW or the only file) or 'b' (BASE).
  function addSites(root, f, side) {
    const names = f.frames.map(frameText);
    for (const s of f.sites) {
      const val = [s[STAT.tb], s[STAT.gb], s[STAT.eb]];
      let n = root;
      for (let k = 0; k < 3; k++) n[side][k] += val[k];
      const fs = s[12];
      for (let i = s[11] - 1; i >= s[10]; i--) {
        const name = names[fs[i]];
        let kid = n.kids.get(name);
        if (!kid) { kid = node(name, n); n.kids.set(name, kid); }
        for (let k = 0; k < 3; k++) kid[side][k] += val[k];
        n = kid;
      }
    }
  }
  const flame = {
    root: node('all', null), zoom: null, metric: 0, side: 'v', search: '',
    rects: [], maxDepth: 0,
  };
  function hue(name) {
    let h = 0;
    for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
    return h;
  }
  function colour(n) {
    if (flame.search && n.name.toLowerCase().includes(flame.search)) return '#e040fb';
    if (DIFF) {
      const b = n.b[flame.metric], v = n.v[flame.metric];
      if (b === v) return '#ddd';
      const r = Math.min(1, Math.abs(v - b) / Math.max(v, b));
      const c = Math.round(230 - 150 * r);
      return v > b ? 'rgb(240,' + c + ',' + c + ')' : 'rgb(' + c + ',' + c + ',240)';
    }
    const h = hue(n.name);
    return 'rgb(' + (205 + h % 50) + ',' + (90 + (h >> 8) % 120) + ',' + (40 + (h >> 16) % 40) + ')';
  }
  function value(n) {
    return n[flame.side][flame.metric];
  }
  function depthOf(n) {
    let d = n.depth;
    for (const k of n.kids.values()) d = Math.max(d, depthOf(k));
    return d;
  }
  const ROW = 18;
  function drawFlame() {
    const c = $('flame'), dpr = window.devicePixelRatio || 1;
    const z = flame.zoom || flame.root;
    const W = c.clientWidth || 900;
    const rows = flame.maxDepth + 1;
    c.height = rows * ROW * dpr;
    c.style.height = rows * ROW + 'px';
    c.width = W * dpr;
    const g = c.getContext('2d');
    g.scale(dpr, dpr);
    g.font = '12px system-ui, sans-serif';
    g.textBaseline = 'middle';
    flame.rects = [];
    const rect = (n, x, w) => {
      const y = n.depth * ROW;
      g.fillStyle = colour(n);
      g.fillRect(x, y, Math.max(w - 0.5, 0.5), ROW - 1);
      flame.rects.push([x, y, w, n]);
      if (w > 30) {
        g.fillStyle = '#000';
        let label = n.name;
        const room = w - 6;
        if (g.measureText(label).width > room) {
          let lo = 0, hi = label.length;
          while (lo < hi) {
            const mid = (lo + hi + 1) >> 1;
            if (g.measureText(label.slice(0, mid) + '…').width <= room) lo = mid; else hi = mid - 1;
          }
          label = lo ? label.slice(0, lo) + '…' : '';
        }
        g.fillText(label, x + 3, y + ROW / 2);
      }
    };
    // the zoomed node's callers, full width
    for (let a = z.parent; a; a = a.parent) rect(a, 0, W);
    const zv = value(z);
    const draw = (n, x, w) => {
      rect(n, x, w);
      const v = value(n);
      if (!v) return;
      let cx = x;
      const kids = [...n.kids.values()].sort((p, q) => (p.name < q.name ? -1 : p.name > q.name ? 1 : 0));
      for (const k of kids) {
        const kw = w * value(k) / v;
        if (kw >= 0.5) draw(k, cx, kw);
        cx += kw;
      }
    };
    if (zv || z === flame.root) draw(z, 0, W);
    c.dataset.rootValue = value(flame.root);
    c.dataset.zoom = z.name;
    c.dataset.zoomValue = zv;
    c.dataset.drawn = flame.rects.length;
  }
  function flameTip(n) {
    const tot = value(flame.root);
    const label = ['total bytes', 'bytes at t-gmax', 'bytes at t-end'][flame.metric];
    if (DIFF) {
      const b = n.b[flame.metric], v = n.v[flame.metric];
      return n.name + ': ' + label + ' ' + thousands(b) + ' → ' + thousands(v) +
        ' (' + signed(b, v) + ', ' + percent(b, v) + ')';
    }
    const v = value(n);
    return n.name + ': ' + bytes(v) + ' ' + label + ', ' +
      (tot ? (100 * v / tot).toFixed(1) : '0.0') + '% of all';
  }
  function hit(ev) {
    const r = $('flame').getBoundingClientRect();
    const x = ev.clientX - r.left, y = ev.clientY - r.top;
    for (const q of flame.rects) {
      if (x >= q[0] && x < q[0] + q[2] && y >= q[1] && y < q[1] + ROW) return q[3];
    }
    return null;
  }
  function searchFlame() {
    flame.search = $('flame-search').value.trim().toLowerCase();
    let sum = 0, count = 0;
    const walk = (n) => {
      if (flame.search && n !== flame.root && n.name.toLowerCase().includes(flame.search)) {
        sum += value(n);
        count++;
        return; // nested matches are inside this one's bytes
      }
      for (const k of n.kids.values()) walk(k);
    };
    walk(flame.root);
    const tot = value(flame.root);
    $('flame-found').textContent = flame.search ?
      count + ' frames match: ' + bytes(sum) + ' (' + (tot ? (100 * sum / tot).toFixed(1) : '0.0') + '%)' : '';
    drawFlame();
  }
  function showFlame() {
    if (DIFF) {
      addSites(flame.root, FILES[0], 'b');
      $('flame-side-label').hidden = false;
    }
    addSites(flame.root, CUR, 'v');
    flame.maxDepth = depthOf(flame.root);
    const c = $('flame');
    c.addEventListener('click', (ev) => {
      const n = hit(ev);
      if (n) { flame.zoom = n === flame.root ? null : n; drawFlame(); }
    });
    c.addEventListener('mousemove', (ev) => {
      const n = hit(ev);
      if (n) $('flame-tip').textContent = flameTip(n);
    });
    $('flame-metric').addEventListener('change', (ev) => {
      flame.metric = ['tb', 'gb', 'eb'].indexOf(ev.target.value);
      searchFlame();
    });
    $('flame-side').addEventListener('change', (ev) => {
      flame.side = ev.target.value === 'base' ? 'b' : 'v';
      searchFlame();
    });
    $('flame-search').addEventListener('input', searchFlame);
    $('flame-reset').addEventListener('click', () => { flame.zoom = null; drawFlame(); });
    window.addEventListener('resize', drawFlame);
    drawFlame();
  }

  // ---- the table of call sites ----
  const PAGE = 200;
  let shown = PAGE;
  let rows = [], columns = [], sortBy = 1, sortDown = true;
  // The first frame, and where it is code without a name (a stripped
  // library's static function) the first frame that has one too.
  function siteTitle(frames) {
    if (!frames.length) return '[root]';
    const named = frames.findIndex((f) => !f.startsWith('???'));
    const shown = named > 0 ? [frames[0], frames[named]] : [frames[0]];
    const more = frames.length - shown.length;
    return shown.join(' \u2190 ') + (more > 0 ? '  (+' + more + ' frames)' : '');
  }
  function profileTable() {
    const names = CUR.frames;
    const tu = CUR.summary.tu || '';
    const avg = (a, b) => (b ? a / b : 0);
    columns = [
      ['Call site', (r) => r.title, null],
      ['Total bytes', (r) => r.s[0], thousands],
      ['Total blocks', (r) => r.s[1], thousands],
      ['Avg size', (r) => avg(r.s[0], r.s[1]), (v) => v.toFixed(1)],
      ['Avg lifetime (' + tu + ')', (r) => (r.s[9] ? avg(r.s[2], r.s[1]) : -1),
        (v) => (v < 0 ? '' : v.toFixed(1))],
      ['At t-gmax', (r) => r.s[5], thousands],
      ['At t-end', (r) => r.s[7], thousands],
      ['Max', (r) => r.s[3], thousands],
    ];
    rows = CUR.sites.map((s) => {
      const shownFrames = [];
      for (let i = s[10]; i < s[11]; i++) shownFrames.push(frameText(names[s[12][i]]));
      return { s: s, title: siteTitle(shownFrames),
        stack: s[12].map((id, i) => [names[id], i < s[10] || i >= s[11]]) };
    });
  }
  function diffTable() {
    const ch = (i) => (r) => r.n[i] - r.b[i];
    const fmt = (i) => (v, r) => thousands(r.b[i]) + ' → ' + thousands(r.n[i]) + ' (' + signed(r.b[i], r.n[i]) + ')';
    columns = [
      ['Call site', (r) => r.title, null],
      ['Total bytes', ch(0), fmt(0)],
      ['Total blocks', ch(1), fmt(1)],
      ['At t-gmax', ch(2), fmt(2)],
      ['At t-end', ch(4), fmt(4)],
    ];
    rows = DATA.diff.map((d) => ({ title: siteTitle(d[0]), stack: d[0].map((f) => [f, false]),
      b: d[1], n: d[2] }));
  }
  function sortRows() {
    const key = columns[sortBy][1];
    const abs = DIFF && sortBy > 0;
    rows.sort((p, q) => {
      let a = key(p), b = key(q);
      if (abs) { a = Math.abs(a); b = Math.abs(b); }
      const c = a < b ? -1 : a > b ? 1 : 0;
      return sortDown ? -c : c;
    });
  }
  function renderTable() {
    const table = $('sites'), head = table.tHead, body = table.tBodies[0];
    head.textContent = '';
    const hr = head.insertRow();
    columns.forEach((c, i) => {
      const th = el('th', i === sortBy ? 'sorted' : '', c[0]);
      th.addEventListener('click', () => {
        if (sortBy === i) sortDown = !sortDown; else { sortBy = i; sortDown = i > 0; }
        sortRows();
        renderTable();
      });
      hr.appendChild(th);
    });
    body.textContent = '';
    for (const r of rows.slice(0, shown)) {
      const tr = body.insertRow();
      tr.className = 'site';
      columns.forEach((c, i) => {
        const v = c[1](r);
        const td = el('td', i ? 'num' : '', c[2] ? c[2](v, r) : v);
        if (DIFF && i) td.className += (v > 0 ? ' grew' : v < 0 ? ' shrank' : '');
        tr.appendChild(td);
      });
      tr.addEventListener('click', () => toggleStack(tr, r));
    }
    $('more').hidden = rows.length <= shown;
    $('more').textContent = 'Show more (' + thousands(rows.length - Math.min(shown, rows.length)) + ' left)';
    $('table-title').textContent = (DIFF ? 'What grew and what shrank: ' : 'Call sites: ') +
      thousands(rows.length) + (DIFF ? ' sites changed' : '');
  }
  function toggleStack(tr, r) {
    const next = tr.nextSibling;
    if (next && next.classList.contains('stack')) { next.remove(); return; }
    const st = document.createElement('tr');
    st.className = 'stack';
    const td = el('td');
    td.colSpan = columns.length;
    for (const [f, folded] of r.stack) td.appendChild(el('div', folded ? 'folded' : '', f));
    st.appendChild(td);
    tr.after(st);
  }
  function showTable() {
    if (DIFF) diffTable(); else profileTable();
    sortRows();
    renderTable();
    $('more').addEventListener('click', () => { shown += 5 * PAGE; renderTable(); });
  }

  showSummary();
  showChart();
  showFlame();
  showTable();
  // For tests and scripts: where a frame of the flame graph is drawn.
  window.dhtraceView = {
    flameRect: (name) => {
      const q = flame.rects.find((r) => r[3].name === name);
      if (!q) return null;
      const b = $('flame').getBoundingClientRect();
      return { x: b.left + q[0], y: b.top + q[1], w: q[2], h: ROW };
    },
  };
  document.body.dataset.ready = '1';
})();

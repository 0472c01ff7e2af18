"use strict";
// fincard report: renders the run in #fincard-data a page of cards at a time. Input text only ever reaches the page
// through textContent or text nodes, never as markup.
(() => {
  const DATA = JSON.parse(document.getElementById("fincard-data").textContent);
  const PAGE_SIZE = 20;
  const TOP = 3;
  const { themes, stances, docs } = DATA;
  const NONE = themes.length; // the theme row of paragraphs with no theme
  const nS = stances.length;
  const stanceIndex = new Map(stances.map((s, i) => [s[0], i]));
  const themeName = (t) => (t === NONE ? DATA.noTheme : themes[t][1]);
  // paragraph rows: [n, section, text, theme indices, theme scores, stance index, stance scores], scores in thousandths
  const N = 0, SECTION = 1, TEXT = 2, THEMES = 3, THEME_SCORES = 4, STANCE = 5, STANCE_SCORES = 6;
  const state = { terms: [], theme: -1, stance: -1, source: null, from: "", to: "", page: 0 };
  const $ = (id) => document.getElementById(id);

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  const percent = (thousandths) => `${Math.round(thousandths / 10)}%`;

  // Which (theme, stance) pairs each document's paragraphs carry: a card matches theme T and stance S when one of
  // its paragraphs is labelled both.
  for (const doc of docs) {
    doc.pairs = new Uint8Array((NONE + 1) * nS);
    for (const p of doc.paras) {
      if (p[STANCE] < 0) continue;
      for (const t of p[THEMES].length ? p[THEMES] : [NONE]) doc.pairs[t * nS + p[STANCE]] = 1;
    }
    doc.day = doc.date ? doc.date.slice(0, 10) : "";
    doc.lines = doc.sections.flatMap((section) => section[1]);
    for (const line of doc.lines) {
      if (typeof line[0] === "string") continue;
      const [n, start, length] = line[0]; // a slice of the cited paragraph
      line[0] = doc.paras.find((p) => p[N] === n)[TEXT].slice(start, start + length);
    }
  }

  function hasPair(doc, t, s) {
    if (t >= 0 && s >= 0) return doc.pairs[t * nS + s] === 1;
    if (t >= 0) return doc.pairs.subarray(t * nS, (t + 1) * nS).includes(1);
    if (s >= 0) {
      for (let i = 0; i <= NONE; i++) if (doc.pairs[i * nS + s]) return true;
      return false;
    }
    return true;
  }

  function haystack(doc) {
    if (doc.hay === undefined) {
      doc.hay = [doc.title || "", doc.source || "", ...doc.lines.map((l) => l[0]), ...doc.paras.map((p) => p[TEXT])]
        .join("\n").toLowerCase();
    }
    return doc.hay;
  }

  const inText = (doc) => state.terms.every((term) => haystack(doc).includes(term));
  const inDates = (doc) => (!state.from || (doc.day && doc.day >= state.from)) && (!state.to || (doc.day && doc.day <= state.to));

  // Text with the search terms marked, as text nodes and <mark> elements.
  function appendText(parent, text) {
    text = text || "";
    const lower = text.toLowerCase();
    const spans = [];
    if (lower.length === text.length) {
      for (const term of state.terms) {
        for (let at = lower.indexOf(term); at >= 0; at = lower.indexOf(term, at + term.length)) spans.push([at, at + term.length]);
      }
    }
    spans.sort((a, b) => a[0] - b[0]);
    let done = 0;
    for (const [start, end] of spans) {
      if (end <= done) continue;
      const from = Math.max(start, done);
      parent.append(text.slice(done, from));
      parent.append(el("mark", null, text.slice(from, end)));
      done = end;
    }
    parent.append(text.slice(done));
  }

  function stanceChip(s, score, on) {
    const chip = el("span", on ? "chip stance on" : "chip stance", stances[s][1]);
    chip.style.setProperty("--c", stances[s][2]);
    if (score !== undefined) chip.append(el("span", "n", percent(score)));
    return chip;
  }

  function metaLine(doc) {
    const date = doc.date ? doc.date.replace("T", " ") : "日期不详";
    return `${doc.source || "来源不详"}· ${date}`;
  }

  // --- one paragraph with its theme and stance chips and scores ---------------------------------------------------

  function paragraphView(doc, n) {
    const box = el("div", "para");
    const p = doc.paras.find((row) => row[N] === n);
    if (!p) {
      box.append(el("div", "para-head", `第 ${n} 段不在 paragraphs.jsonl 里`));
      return box;
    }
    const head = el("div", "para-head");
    head.append(el("b", null, `第 ${n} 段`));
    if (p[SECTION]) head.append(el("span", null, p[SECTION]));
    const text = el("p", "para-text");
    appendText(text, p[TEXT]);
    const themeChips = el("div", "chips");
    themeChips.append(el("span", "label", "主题"));
    if (!p[THEMES].length) themeChips.append(el("span", "chip", DATA.noTheme));
    themes.forEach(([, name], t) => {
      const chip = el("span", p[THEMES].includes(t) ? "chip" : "chip off", name);
      chip.append(el("span", "n", percent(p[THEME_SCORES][t])));
      themeChips.append(chip);
    });
    const stanceChips = el("div", "chips");
    stanceChips.append(el("span", "label", "立场"));
    stances.forEach((_, s) => stanceChips.append(stanceChip(s, p[STANCE_SCORES][s], s === p[STANCE])));
    box.append(head, text, themeChips, stanceChips);
    return box;
  }

  function toggleParagraph(item, button, doc, n) {
    const wasOpen = button.getAttribute("aria-expanded") === "true";
    item.querySelector(":scope > .para")?.remove();
    item.querySelectorAll(".cite").forEach((b) => b.setAttribute("aria-expanded", "false"));
    if (!wasOpen) {
      item.append(paragraphView(doc, n));
      button.setAttribute("aria-expanded", "true");
    }
  }

  // --- cards -------------------------------------------------------------------------------------------------------

  function stanceMix(doc) {
    const counts = new Array(nS).fill(0);
    for (const p of doc.paras) if (p[STANCE] >= 0) counts[p[STANCE]]++;
    const mix = el("div", "mix");
    mix.title = stances.map((s, i) => `${s[1]} ${counts[i]}`).join(" · ") + " 段";
    counts.forEach((count, s) => {
      if (!count) return;
      const part = el("span");
      part.style.setProperty("--c", stances[s][2]);
      part.style.flexGrow = String(count);
      mix.append(part);
    });
    return mix;
  }

  function lineItem(doc, line) {
    const [text, citations, stance, rank] = line;
    const item = el("li", rank === 1 ? "line lead" : "line"); // rank 1: what a one-line gist keeps
    const s = stanceIndex.get(stance);
    const dot = el("span", "dot");
    if (s !== undefined) {
      dot.style.setProperty("--c", stances[s][2]);
      dot.title = stances[s][1];
    }
    item.append(dot);
    appendText(item, text);
    for (const n of citations) {
      const button = el("button", "cite", `[${n}]`);
      button.type = "button";
      button.setAttribute("aria-expanded", "false");
      button.title = `查看第 ${n} 段`;
      button.addEventListener("click", () => toggleParagraph(item, button, doc, n));
      item.append(button);
    }
    return item;
  }

  function card(doc) {
    const article = el("article", "card");
    const title = el("h2");
    appendText(title, doc.title || doc.id);
    article.append(title, el("div", "meta", metaLine(doc)), stanceMix(doc));
    // The seed's layout: the first section is the 核心观点, then the article's own sections or the theme groups.
    doc.sections.forEach(([heading, lines], i) => {
      if (!lines.length) return;
      const group = el("section", i === 0 ? "group headline" : "group");
      const list = el("ul");
      list.append(...lines.map((line) => lineItem(doc, line)));
      group.append(el("h3", null, heading || DATA.noTheme), list);
      article.append(group);
    });
    return article;
  }

  function renderCards(shown) {
    const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
    state.page = Math.min(state.page, pages - 1);
    const box = $("cards");
    box.replaceChildren(...shown.slice(state.page * PAGE_SIZE, (state.page + 1) * PAGE_SIZE).map(card));
    if (!shown.length) box.append(el("p", "empty", "没有符合筛选的卡片"));
    const pager = $("pager");
    pager.replaceChildren();
    if (pages > 1) {
      const previous = el("button", null, "‹ 上一页");
      const next = el("button", null, "下一页 ›");
      previous.disabled = state.page === 0;
      next.disabled = state.page === pages - 1;
      previous.addEventListener("click", () => turn(-1));
      next.addEventListener("click", () => turn(1));
      pager.append(previous, el("span", null, `第 ${state.page + 1} / ${pages} 页`), next);
    }
  }

  function turn(step) {
    state.page += step;
    update();
    $("cards").scrollIntoView({ block: "start" });
    window.scrollBy(0, -$("filters").offsetHeight - 12);
  }

  // --- the most bullish and bearish paragraphs per theme, among the shown cards ------------------------------------

  function renderTop(shown) {
    const directional = stances.map((_, s) => s).filter((s) => stances[s][0] !== "neutral");
    const best = new Map(); // theme * nS + stance -> [[score, doc, paragraph]], best first
    for (const doc of shown) {
      for (const p of doc.paras) {
        if (!directional.includes(p[STANCE])) continue;
        const score = p[STANCE_SCORES][p[STANCE]];
        for (const t of p[THEMES]) {
          const list = best.get(t * nS + p[STANCE]) || [];
          if (list.length < TOP || score > list[list.length - 1][0]) {
            list.push([score, doc, p]);
            list.sort((a, b) => b[0] - a[0]);
            list.length = Math.min(list.length, TOP);
            best.set(t * nS + p[STANCE], list);
          }
        }
      }
    }
    const box = $("top");
    box.replaceChildren();
    const shownThemes = state.theme >= 0 && state.theme < NONE ? [state.theme] : themes.map((_, t) => t);
    for (const t of shownThemes) {
      const block = el("div", "top-theme");
      block.append(el("h3", null, themeName(t)));
      for (const s of directional) {
        const heading = el("h4", null, `最${stances[s][1]}`);
        heading.style.setProperty("--c", stances[s][2]);
        block.append(heading);
        const list = best.get(t * nS + s) || [];
        if (!list.length) block.append(el("div", "none", "—"));
        for (const [score, doc, p] of list) {
          const item = el("button", "top-item");
          item.type = "button";
          item.style.setProperty("--c", stances[s][2]);
          const text = el("span", "text");
          appendText(text, p[TEXT]);
          item.append(el("span", "score", percent(score)), text,
            el("span", "src", `${doc.source || "来源不详"} · ${doc.day || "日期不详"} · 第 ${p[N]} 段`));
          item.addEventListener("click", () => openDialog(doc, p[N]));
          block.append(item);
        }
      }
      box.append(block);
    }
    if (!shownThemes.length) box.append(el("p", "empty", "没有主题"));
  }

  function openDialog(doc, n) {
    const title = el("h2");
    appendText(title, doc.title || doc.id);
    $("dialog-body").replaceChildren(title, el("div", "meta", metaLine(doc)), paragraphView(doc, n));
    $("dialog").showModal();
  }

  // --- filters and their counts ------------------------------------------------------------------------------------

  function facetChip(label, color, onClick) {
    const chip = el("button", "chip", label);
    chip.type = "button";
    if (color) chip.style.setProperty("--c", color);
    chip.append(el("span", "n"));
    chip.setAttribute("aria-pressed", "false");
    chip.addEventListener("click", onClick);
    return chip;
  }

  const themeChips = [...themes.map((t) => t[1]), DATA.noTheme].map((name, t) =>
    facetChip(name, null, () => { state.theme = state.theme === t ? -1 : t; refresh(); }));
  const stanceChips = stances.map(([, name, color], s) =>
    facetChip(name, color, () => { state.stance = state.stance === s ? -1 : s; refresh(); }));
  $("theme-chips").append(...themeChips);
  $("stance-chips").append(...stanceChips);

  const sourceTotals = new Map();
  for (const doc of docs) sourceTotals.set(doc.source || "", (sourceTotals.get(doc.source || "") || 0) + 1);
  const sources = [...sourceTotals.keys()].sort((a, b) => sourceTotals.get(b) - sourceTotals.get(a) || a.localeCompare(b));
  const sourceSelect = $("source");
  const allSources = el("option", null, "全部来源");
  allSources.value = "\u0000all";
  sourceSelect.append(allSources);
  const sourceOptions = new Map(sources.map((name) => {
    const option = el("option");
    option.value = name;
    sourceSelect.append(option);
    return [name, option];
  }));

  function update() {
    const themeCounts = new Array(NONE + 1).fill(0);
    const stanceCounts = new Array(nS).fill(0);
    const sourceCounts = new Map();
    const shown = [];
    // Each facet counts what choosing it would show, with the other filters kept.
    for (const doc of docs) {
      if (!inDates(doc) || !inText(doc)) continue;
      const source = doc.source || "";
      const pairOk = hasPair(doc, state.theme, state.stance);
      if (pairOk) sourceCounts.set(source, (sourceCounts.get(source) || 0) + 1);
      if (state.source !== null && source !== state.source) continue;
      for (let t = 0; t <= NONE; t++) if (hasPair(doc, t, state.stance)) themeCounts[t]++;
      for (let s = 0; s < nS; s++) if (hasPair(doc, state.theme, s)) stanceCounts[s]++;
      if (pairOk) shown.push(doc);
    }
    themeChips.forEach((chip, t) => setChip(chip, themeCounts[t], state.theme === t));
    stanceChips.forEach((chip, s) => setChip(chip, stanceCounts[s], state.stance === s));
    allSources.textContent = `全部来源 (${[...sourceCounts.values()].reduce((a, b) => a + b, 0)})`;
    for (const [name, option] of sourceOptions) option.textContent = `${name || "来源不详"} (${sourceCounts.get(name) || 0})`;
    const count = $("count");
    count.replaceChildren("显示 ", el("b", null, shown.length), ` / ${docs.length} 篇`);
    renderCards(shown);
    renderTop(shown);
  }

  function setChip(chip, count, pressed) {
    chip.lastChild.textContent = count;
    chip.setAttribute("aria-pressed", String(pressed));
    chip.classList.toggle("zero", count === 0 && !pressed);
  }

  function refresh() {
    state.page = 0;
    $("from").value = state.from;
    $("to").value = state.to;
    sourceSelect.value = state.source === null ? "\u0000all" : state.source;
    update();
  }

  let typing = 0;
  $("q").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      state.terms = $("q").value.toLowerCase().split(/\s+/).filter(Boolean);
      refresh();
    }, 120);
  });
  sourceSelect.addEventListener("change", () => {
    state.source = sourceSelect.value === "\u0000all" ? null : sourceSelect.value;
    refresh();
  });
  for (const id of ["from", "to"]) $(id).addEventListener("change", () => { state[id] = $(id).value; refresh(); });
  $("clear").addEventListener("click", () => {
    Object.assign(state, { terms: [], theme: -1, stance: -1, source: null, from: "", to: "" });
    $("q").value = "";
    refresh();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "/" && !["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName)) {
      event.preventDefault();
      $("q").focus();
    }
  });
  $("close").addEventListener("click", () => $("dialog").close());
  $("dialog").addEventListener("click", (event) => { if (event.target === $("dialog")) $("dialog").close(); });

  // --- header totals, and the chart bars as filters -------------------------------------------------------------

  const days = docs.map((d) => d.day).filter(Boolean).sort();
  const stanceTotals = new Array(nS).fill(0);
  let paragraphs = 0;
  for (const doc of docs) {
    paragraphs += doc.paras.length;
    for (const p of doc.paras) if (p[STANCE] >= 0) stanceTotals[p[STANCE]]++;
  }
  document.title = `${DATA.title} · fincard`;
  $("title").textContent = DATA.title;
  const totals = [[docs.length, "篇文章"], [paragraphs, "个段落"], [sources.length, "个来源"]];
  $("totals").append(...totals.map(([n, unit]) => {
    const item = el("span");
    item.append(el("b", null, n), ` ${unit}`);
    return item;
  }));
  if (days.length) $("totals").append(el("span", null, `${days[0]} – ${days[days.length - 1]}`));
  $("stance-totals").append(...stances.map((_, s) => stanceChip(s)).map((chip, s) => {
    chip.append(el("span", "n", stanceTotals[s]));
    return chip;
  }));
  for (const id of ["from", "to"]) {
    if (days.length) {
      $(id).min = days[0];
      $(id).max = days[days.length - 1];
    }
  }

  const isoDay = (compact) => `${compact.slice(0, 4)}-${compact.slice(4, 6)}-${compact.slice(6, 8)}`;
  function countParagraphs(t, s, from, to) {
    let count = 0;
    for (const doc of docs) {
      if (from && !(doc.day && doc.day >= from && doc.day <= to)) continue;
      for (const p of doc.paras) if (p[STANCE] === s && (p[THEMES].length ? p[THEMES].includes(t) : t === NONE)) count++;
    }
    return count;
  }
  // Bar ids from the SVG charts: ts-THEME-STANCE (whole run) and tb-THEME-STANCE-FROM-TO (one date bucket).
  for (const bar of document.querySelectorAll('.chart [id^="ts-"], .chart [id^="tb-"]')) {
    const [kind, t, s, from, to] = bar.id.split("-");
    const range = kind === "tb" ? [isoDay(from), isoDay(to)] : ["", ""];
    const tip = document.createElementNS("http://www.w3.org/2000/svg", "title");
    bar.addEventListener("mouseenter", () => {
      const when = range[0] ? ` · ${range[0] === range[1] ? range[0] : range.join(" – ")}` : "";
      tip.textContent = `${themeName(+t)} · ${stances[+s][1]}${when}：${countParagraphs(+t, +s, ...range)} 段（点击筛选）`;
    }, { once: true });
    bar.prepend(tip);
    bar.addEventListener("click", () => {
      Object.assign(state, { theme: +t, stance: +s, from: range[0], to: range[1] });
      refresh();
    });
  }

  const stickTop = () => document.documentElement.style.setProperty("--sticky-top", `${$("filters").offsetHeight + 16}px`);
  window.addEventListener("resize", stickTop);
  stickTop();
  update();
})();

// The layout checks of tests.helpers.page_checks, at the current viewport: problems as text.
() => {
  const problems = [];
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none";
  };
  const what = (el) => el.tagName.toLowerCase() + (el.name ? `[name=${el.name}]` : "")
    + " «" + (el.innerText || el.value || el.getAttribute("aria-label") || "").trim()
      .replace(/\s+/g, " ").slice(0, 40) + "»";
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth) {
    const wide = [...document.querySelectorAll("body *")]
      .filter((e) => shown(e) && e.getBoundingClientRect().right > window.innerWidth + 1)
      .slice(0, 4).map(what);
    problems.push(`horizontal scroll: ${doc.scrollWidth}px > ${window.innerWidth}px (${wide.join(", ")})`);
  }
  const body = parseFloat(getComputedStyle(document.body).fontSize);
  if (body < 16) problems.push(`body text ${body}px < 16px`);
  const texts = "p, li, td, th, dd, dt, label, legend, button, input, select, textarea, a, code, h1, h2, h3";
  for (const el of document.querySelectorAll(texts)) {
    if (!shown(el)) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size < 15.5) problems.push(`text ${size}px < 16px: ${what(el)}`);
  }
  const targets = "button, a.button, select, textarea, nav a, header a, footer a, form a,"
    + " input:not([type=hidden]):not([type=checkbox]):not([type=radio]),"
    + " label:has(> input[type=checkbox]), label:has(> input[type=radio])";
  for (const el of document.querySelectorAll(targets)) {
    if (!shown(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.height < 43.5 || r.width < 43.5) {
      problems.push(`tap target ${Math.round(r.width)}×${Math.round(r.height)}px < 44px: ${what(el)}`);
    }
  }
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    const labelled = (el.labels && el.labels.length && [...el.labels].some((l) => l.innerText.trim()))
      || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby");
    if (!labelled) problems.push(`a field without a label: ${what(el)}`);
  }
  const headings = [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")];
  const h1 = headings.filter((h) => h.tagName === "H1").length;
  if (h1 !== 1) problems.push(`${h1} h1 headings (one expected)`);
  if (headings.length && headings[0].tagName !== "H1") problems.push(`the first heading is ${headings[0].tagName}`);
  let level = 1;
  for (const h of headings) {
    const next = Number(h.tagName[1]);
    if (next > level + 1) problems.push(`heading order h${level} → h${next}: ${what(h)}`);
    level = next;
  }
  if (!["ru", "en"].includes(doc.lang)) problems.push(`html lang="${doc.lang}"`);
  return problems;
}

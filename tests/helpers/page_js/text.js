// The page's own-language text (not code, not parts marked with another lang, not names
// marked translate="no": a school system's or a school's registered name) and its chrome.
() => {
  const lang = document.documentElement.lang;
  const parts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest('script, style, code, pre, textarea, [translate="no"]')) continue;
    const tagged = parent.closest("[lang]");
    if (tagged && tagged !== document.documentElement && tagged.lang !== lang) continue;
    parts.push(node.textContent);
  }
  const chrome = [...document.querySelectorAll("button, label, legend, th, title")]
    .filter((el) => !el.closest("[lang]:not(html)"))
    .map((el) => el.innerText || el.textContent || "");
  return { lang, text: parts.join(" ").replace(/\s+/g, " "), chrome };
}

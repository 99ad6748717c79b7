// Whether the focused control shows a focus ring: null (nothing focused), "" (yes) or its name.
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  const ring = (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2)
    || (s.boxShadow && s.boxShadow !== "none");
  return ring ? "" : el.tagName.toLowerCase() + " «" + (el.innerText || el.value || "").trim().slice(0, 40) + "»";
}

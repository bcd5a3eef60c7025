"""What a page in a real browser shows, measured from its computed styles (WCAG 2.2 AA): the
contrast of each piece of text against what is behind it, the focus ring of the element that has
the focus, and whether the page is wider than the window.

The browser reports colours; the sums are here (WCAG 2.2's relative luminance and contrast
ratio), with half-transparent backgrounds laid over what is behind them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Page

Colour = tuple[float, float, float, float]
"""Red, green and blue from 0 to 255, and alpha from 0 to 1."""

TEXT = 4.5
LARGE_TEXT = 3.0
"""The least contrast of text, and of large text (24 px, or 18.66 px bold) and of what is not
text (a focus ring against what is around it)."""

_COLOURS = """
const colour = (value) => {
  const numbers = value.match(/^rgba?\\(([^)]*)\\)$/);
  if (!numbers) { return value; }
  const parts = numbers[1].split(/[ ,\\/]+/).filter((part) => part !== "").map(Number);
  return [parts[0], parts[1], parts[2], parts.length > 3 ? parts[3] : 1];
};
const behind = (element) => {
  const layers = [];
  for (let at = element; at !== null; at = at.parentElement) {
    const fill = colour(getComputedStyle(at).backgroundColor);
    if (typeof fill === "string") { return [fill]; }
    if (fill[3] > 0) { layers.push(fill); }
    if (fill[3] >= 1) { break; }
  }
  return layers;
};
const named = (element) => {
  const id = element.id ? "#" + element.id : "";
  const kind = element.className && typeof element.className === "string"
    ? "." + element.className.trim().split(/\\s+/).join(".") : "";
  return element.tagName.toLowerCase() + id + kind;
};
"""

_TEXTS = (
    "() => {"
    + _COLOURS
    + """
const shown = [];
const wide = document.documentElement.scrollWidth;
for (const element of document.body.querySelectorAll("*")) {
  const control = element.matches("input:not([type=hidden]), select, textarea");
  const words = control ? (element.value || "") : [...element.childNodes]
    .filter((node) => node.nodeType === Node.TEXT_NODE).map((node) => node.textContent)
    .join(" ").trim();
  if (!words && !control) { continue; }
  const box = element.getBoundingClientRect();
  const seen = element.checkVisibility({ visibilityProperty: true, opacityProperty: true })
    && box.width > 0 && box.height > 0 && box.right > 0 && box.left < wide;
  if (!seen) { continue; }
  const style = getComputedStyle(element);
  shown.push({ what: named(element), words: words.slice(0, 40), colour: colour(style.color),
               behind: behind(element), size: parseFloat(style.fontSize),
               weight: Number(style.fontWeight) });
}
return shown;
}"""
)

_FOCUSED = (
    "() => {"
    + _COLOURS
    + """
const element = document.activeElement;
if (element === null || element === document.body) { return null; }
const style = getComputedStyle(element);
return { what: named(element), id: element.id, tag: element.tagName.toLowerCase(),
         words: (element.innerText || element.value || "").trim().slice(0, 60),
         href: element.getAttribute("href"), outline: style.outlineStyle,
         width: parseFloat(style.outlineWidth), colour: colour(style.outlineColor),
         behind: behind(element.parentElement || element) };
}"""
)


def luminance(colour: Colour) -> float:
    """WCAG 2.2's relative luminance of an opaque sRGB colour."""

    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue, _ = colour
    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def contrast(one: Colour, other: Colour) -> float:
    lighter, darker = sorted((luminance(one), luminance(other)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def over(top: Colour, bottom: Colour) -> Colour:
    """`top` laid over the opaque `bottom`."""
    alpha = top[3]
    pairs = zip(top[:3], bottom[:3], strict=True)
    red, green, blue = (t * alpha + b * (1 - alpha) for t, b in pairs)
    return red, green, blue, 1.0


WHITE: Colour = (255.0, 255.0, 255.0, 1.0)
"""What the browser shows behind a page without a background of its own."""


def _colour(value: Any, what: str) -> Colour:
    assert isinstance(value, list), f"{what}: a colour the check cannot read: {value!r}"
    red, green, blue, alpha = (float(v) for v in value)
    return red, green, blue, alpha


def _background(layers: list[Any], what: str) -> Colour:
    """The opaque colour behind, from the nearest layer up (the page's white under them all)."""
    shown = WHITE
    for layer in reversed(layers):
        shown = over(_colour(layer, what), shown)
    return shown


@dataclass(frozen=True)
class ShownText:
    what: str
    words: str
    ratio: float
    least: float

    def __str__(self) -> str:
        return f"{self.what} {self.words!r}: {self.ratio:.2f}:1, needs {self.least}:1"


def text_contrasts(page: Page) -> list[ShownText]:
    """Every piece of text the page shows (and every form field), with its contrast against the
    background behind it and the least it needs."""
    found: list[dict[str, Any]] = page.evaluate(_TEXTS)
    shown = []
    for text in found:
        what = f"{text['what']} {text['words']!r}"
        background = _background(text["behind"], what)
        ink = over(_colour(text["colour"], what), background)
        large = text["size"] >= 24 or (text["size"] >= 18.66 and text["weight"] >= 700)
        least = LARGE_TEXT if large else TEXT
        shown.append(ShownText(text["what"], text["words"], contrast(ink, background), least))
    return shown


def assert_text_contrast(page: Page) -> int:
    """Fails naming each piece of text below WCAG 2.2 AA's contrast; returns how many pieces
    were measured."""
    shown = text_contrasts(page)
    assert shown, f"no text measured on {page.url}"
    low = [str(text) for text in shown if text.ratio < text.least]
    assert not low, f"{page.url}: text below AA contrast:\n" + "\n".join(low)
    return len(shown)


@dataclass(frozen=True)
class Focused:
    """The element that has the focus, and its focus ring."""

    what: str
    id: str
    tag: str
    words: str
    href: str | None
    ring: str
    """Its outline: style, width in CSS pixels, and contrast with what is around it."""


def focused(page: Page) -> Focused | None:
    """The element with the focus (None: the page itself), after checking that its focus ring
    shows: an outline at least 2 CSS pixels wide, at 3:1 or more against what is around it."""
    found: dict[str, Any] | None = page.evaluate(_FOCUSED)
    if found is None:
        return None
    what = f"{found['what']} {found['words']!r} on {page.url}"
    around = _background(found["behind"], what)
    ratio = contrast(over(_colour(found["colour"], what), around), around)
    ring = f"{found['outline']} {found['width']}px at {ratio:.2f}:1"
    assert found["outline"] not in ("none", "hidden"), f"no focus ring on {what}: {ring}"
    assert found["width"] >= 2, f"the focus ring of {what} is thin: {ring}"
    assert ratio >= LARGE_TEXT, f"the focus ring of {what} is faint: {ring}"
    return Focused(found["what"], found["id"], found["tag"], found["words"], found["href"], ring)


_WIDE = "() => document.documentElement.scrollWidth"
_CUT = """() => [...document.body.querySelectorAll("*")].filter((element) => {
  const style = getComputedStyle(element);
  return element.scrollWidth > element.clientWidth + 1 && style.overflowX !== "visible"
    && element.checkVisibility() && element.getBoundingClientRect().right > 0;
}).map((element) => element.tagName + " " + element.textContent.trim().slice(0, 40))"""


def assert_fits(page: Page) -> None:
    """Nothing scrolls sideways: the page is no wider than the window, and no box cuts its
    text off."""
    window = page.viewport_size
    assert window is not None
    wide = page.evaluate(_WIDE)
    # The window's own width, not what the page reports: a phone's browser zooms out to show
    # a page wider than its screen, which makes the page's window wider in CSS pixels.
    assert wide <= window["width"], f"{page.url} is {wide}px wide in a {window['width']}px window"
    cut: list[str] = page.evaluate(_CUT)
    assert not cut, f"{page.url}: boxes cut off what they hold: {cut}"

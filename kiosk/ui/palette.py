"""Colours, standard and high-contrast. Every text/background pair is WCAG AA (>= 4.5:1);
`contrast()` computes it and the tests check each pair the screens use."""

from __future__ import annotations

from dataclasses import dataclass

RGB = tuple[int, int, int]


def _hex(code: str) -> RGB:
    code = code.lstrip("#")
    return int(code[0:2], 16), int(code[2:4], 16), int(code[4:6], 16)


@dataclass(frozen=True, kw_only=True)
class Palette:
    name: str
    background: RGB
    text: RGB
    muted: RGB
    error: RGB
    primary: RGB  # primary button fill
    on_primary: RGB
    action: RGB  # other buttons
    on_action: RGB
    border: RGB
    key: RGB
    on_key: RGB
    selected: RGB
    on_selected: RGB
    banner: RGB
    on_banner: RGB
    field: RGB
    on_field: RGB
    focus: RGB  # the keyboard focus ring: >= 3:1 against the background (WCAG 2.4.13)
    focus_halo: RGB  # round the ring, >= 3:1 against it: the ring shows on a dark banner too

    def text_pairs(self) -> dict[str, tuple[RGB, RGB]]:
        """(foreground, background) of every kind of text drawn."""
        return {
            "text": (self.text, self.background), "muted": (self.muted, self.background),
            "error": (self.error, self.background), "primary": (self.on_primary, self.primary),
            "action": (self.on_action, self.action), "key": (self.on_key, self.key),
            "selected": (self.on_selected, self.selected), "banner": (self.on_banner, self.banner),
            "field": (self.on_field, self.field),
        }


STANDARD = Palette(
    name="standard",
    background=_hex("#F4F6F8"), text=_hex("#15202B"), muted=_hex("#3D4A57"), error=_hex("#A4001C"),
    primary=_hex("#0A4F96"), on_primary=_hex("#FFFFFF"), action=_hex("#FFFFFF"),
    on_action=_hex("#0A3766"), border=_hex("#0A4F96"), key=_hex("#DDE4EC"), on_key=_hex("#15202B"),
    selected=_hex("#1B6B3A"), on_selected=_hex("#FFFFFF"), banner=_hex("#7A3E00"),
    on_banner=_hex("#FFFFFF"), field=_hex("#FFFFFF"), on_field=_hex("#15202B"), focus=_hex("#C2006E"),
    focus_halo=_hex("#FFFFFF"),
)
HIGH_CONTRAST = Palette(
    name="high_contrast",
    background=_hex("#000000"), text=_hex("#FFFFFF"), muted=_hex("#E6E6E6"), error=_hex("#FF9B9B"),
    primary=_hex("#FFD400"), on_primary=_hex("#000000"), action=_hex("#000000"),
    on_action=_hex("#FFFFFF"), border=_hex("#FFD400"), key=_hex("#1A1A1A"), on_key=_hex("#FFFFFF"),
    selected=_hex("#FFFFFF"), on_selected=_hex("#000000"), banner=_hex("#FFD400"),
    on_banner=_hex("#000000"), field=_hex("#000000"), on_field=_hex("#FFFFFF"), focus=_hex("#00E5FF"),
    focus_halo=_hex("#000000"),
)


def _linear(c: int) -> float:
    s = c / 255
    return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4


def luminance(rgb: RGB) -> float:
    r, g, b = (_linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: RGB, b: RGB) -> float:
    """WCAG 2.x contrast ratio, 1.0 to 21.0."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)

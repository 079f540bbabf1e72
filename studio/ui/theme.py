"""Light and dark themes that follow the system colour scheme, or the user's choice.

One ``Theme`` holds every colour the canvas paints with. ``apply_theme`` picks light or dark from
``QStyleHints.colorScheme()`` (or the palette's window colour when the platform does not say),
sets a matching application palette on the Fusion style, and is called again when the system
scheme changes. View > Theme can fix it to light or dark (``set_preference``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette

CATEGORY_HUES = {
    "data": "#2f8f5b", "structure": "#5a6b85", "convolution": "#2f6fbf", "pooling": "#2a9aa6",
    "normalization": "#8a63c9", "activation": "#d08a1e", "generative": "#c0508a",
    "loss": "#c94c3b", "optimizer": "#9a7b1c", "output": "#6b8e23", "network": "#3d5afe",
}

HEALTH_HUES = {  # green healthy, blue vanishing (cold), red exploding (hot), amber dead units
    False: {"ok": "#2e9d57", "vanishing": "#2b7bd6", "exploding": "#d93025", "dead": "#e08e0b"},
    True: {"ok": "#4cc27a", "vanishing": "#5aa2ff", "exploding": "#ff5c5c", "dead": "#f2ad3d"},
}

DIFF_HUES = {  # a graph compared with another (core.diff's statuses): green, amber, red
    False: {"added": "#1e9e4a", "changed": "#d98200", "removed": "#d93025"},
    True: {"added": "#4cc27a", "changed": "#f2a93b", "removed": "#ff6b6b"},
}


@dataclass
class Theme:
    dark: bool
    canvas: QColor
    grid_minor: QColor
    grid_major: QColor
    node: QColor
    node_border: QColor
    selected: QColor
    text: QColor
    text_dim: QColor
    wire: QColor
    wire_loss: QColor
    label_bg: QColor
    error: QColor
    port: QColor
    port_border: QColor
    categories: dict = field(default_factory=dict)
    health: dict = field(default_factory=dict)  # training health level -> indicator colour
    diff: dict = field(default_factory=dict)  # added, changed, removed -> the canvas mark's colour

    def category(self, name: str) -> QColor:
        return self.categories.get(name, self.categories["structure"])

    def health_colour(self, level: str) -> QColor:
        """The canvas indicator's colour for a health level ("error" is the error colour)."""
        if level == "error" or level not in self.health:
            return self.error
        return self.health[level]

    def diff_colour(self, status: str) -> QColor:
        """The colour marking a node added, changed or removed (``ui/canvas/diff_marks.py``)."""
        return self.diff[status]


def _theme(dark: bool) -> Theme:
    c = QColor
    cats = {k: c(v) for k, v in CATEGORY_HUES.items()}
    health = {k: c(v) for k, v in HEALTH_HUES[dark].items()}
    diff = {k: c(v) for k, v in DIFF_HUES[dark].items()}
    if dark:
        cats = {k: v.lighter(125) for k, v in cats.items()}
        return Theme(True, c("#1e1f22"), c("#26272b"), c("#2f3136"), c("#2b2d31"), c("#4a4d55"),
                     c("#4f9dff"), c("#e6e6e6"), c("#a0a4ab"), c("#8a8f98"), c("#e0a050"),
                     c("#1e1f22"), c("#ff5c5c"), c("#c8ccd2"), c("#1e1f22"), cats, health, diff)
    return Theme(False, c("#f4f5f7"), c("#e9ebef"), c("#dfe2e7"), c("#ffffff"), c("#b9bec7"),
                 c("#1f6fe0"), c("#1d1f23"), c("#5f6670"), c("#7a828e"), c("#b86e12"),
                 c("#f4f5f7"), c("#d93025"), c("#ffffff"), c("#6d7480"), cats, health, diff)


_current: Theme | None = None


def system_is_dark() -> bool:
    app = QGuiApplication.instance()
    if app is None:
        return False
    scheme = QGuiApplication.styleHints().colorScheme()
    if scheme == Qt.ColorScheme.Dark:
        return True
    if scheme == Qt.ColorScheme.Light:
        return False
    return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


def current() -> Theme:
    """The active theme (light until ``apply_theme`` has run)."""
    global _current
    if _current is None:
        _current = _theme(system_is_dark())
    return _current


def _palette(t: Theme) -> QPalette:
    p = QPalette()
    R = QPalette.ColorRole
    if t.dark:
        base, window, text = QColor("#232428"), QColor("#2b2d31"), QColor("#e6e6e6")
        p.setColor(R.Window, window)
        p.setColor(R.WindowText, text)
        p.setColor(R.Base, base)
        p.setColor(R.AlternateBase, QColor("#2e3035"))
        p.setColor(R.Text, text)
        p.setColor(R.Button, QColor("#34363c"))
        p.setColor(R.ButtonText, text)
        p.setColor(R.ToolTipBase, QColor("#393b41"))
        p.setColor(R.ToolTipText, text)
        p.setColor(R.PlaceholderText, QColor("#8a8f98"))
        p.setColor(R.Highlight, QColor("#3b6fd6"))
        p.setColor(R.HighlightedText, QColor("#ffffff"))
        p.setColor(R.Link, QColor("#6aa8ff"))
        p.setColor(R.Mid, QColor("#44474e"))
        p.setColor(R.Dark, QColor("#1a1b1e"))
        for role in (R.Text, R.WindowText, R.ButtonText):
            p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#70747c"))
    else:
        p.setColor(R.Window, QColor("#eef0f3"))
        p.setColor(R.WindowText, QColor("#1d1f23"))
        p.setColor(R.Base, QColor("#ffffff"))
        p.setColor(R.AlternateBase, QColor("#f5f6f8"))
        p.setColor(R.Text, QColor("#1d1f23"))
        p.setColor(R.Button, QColor("#f6f7f9"))
        p.setColor(R.ButtonText, QColor("#1d1f23"))
        p.setColor(R.ToolTipBase, QColor("#ffffe8"))
        p.setColor(R.ToolTipText, QColor("#1d1f23"))
        p.setColor(R.PlaceholderText, QColor("#8a9099"))
        p.setColor(R.Highlight, QColor("#2f74e0"))
        p.setColor(R.HighlightedText, QColor("#ffffff"))
        for role in (R.Text, R.WindowText, R.ButtonText):
            p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#a3a8b0"))
    return p


PREFERENCES = ("system", "light", "dark")
_preference = "system"  # View > Theme: follow the system, or always light or dark


def set_preference(choice: str) -> None:
    """"system", "light" or "dark": what ``apply_theme`` uses when not told."""
    global _preference
    if choice not in PREFERENCES:
        raise ValueError(f"theme {choice!r}: expected one of {', '.join(PREFERENCES)}")
    _preference = choice


def preference() -> str:
    return _preference


def apply_theme(app, dark: bool | None = None) -> Theme:
    """Set the Fusion style and a palette for ``dark`` (default: the user's preference, which
    is what the system uses unless View > Theme says otherwise)."""
    global _current
    app.setStyle("Fusion")
    if dark is None:
        dark = system_is_dark() if _preference == "system" else _preference == "dark"
    _current = _theme(dark)
    app.setPalette(_palette(_current))
    return _current


def follow_system(app, on_change) -> None:
    """Re-apply the theme when the system switches between light and dark; then ``on_change()``."""

    def changed(_scheme):
        if _preference == "system":
            apply_theme(app)
            on_change()

    QGuiApplication.styleHints().colorSchemeChanged.connect(changed)

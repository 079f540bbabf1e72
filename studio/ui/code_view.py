"""The code view: the generated model.py and train.py, syntax highlighted, following the edits.

The selected node's lines (from the generator's line map) are highlighted and scrolled into view.
When the project has problems, a banner says so above the last good code: it lists the errors of
the session's verdict, the same ones Problems, Train and the status bar show.
"""

from __future__ import annotations

import keyword
import re

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QSyntaxHighlighter, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QTabWidget, QTextEdit, QVBoxLayout, QWidget

from studio.ui import theme

FILES = ("model.py", "train.py")


def _fmt(color: str, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    f = QTextCharFormat()
    f.setForeground(QColor(color))
    if bold:
        f.setFontWeight(QFont.Weight.Bold)
    f.setFontItalic(italic)
    return f


class PythonHighlighter(QSyntaxHighlighter):
    """Keywords, builtins, numbers, strings, comments, decorators and definitions."""

    def __init__(self, document):
        super().__init__(document)
        self.set_theme(theme.current().dark)

    def set_theme(self, dark: bool) -> None:
        c = {"kw": "#c678dd", "builtin": "#56b6c2", "num": "#d19a66", "str": "#98c379",
             "comment": "#7f848e", "def": "#61afef", "self": "#e06c75", "deco": "#e5c07b"} if dark \
            else {"kw": "#8f2bbf", "builtin": "#0f7a8a", "num": "#b35900", "str": "#2e7d32",
                  "comment": "#6a737d", "def": "#1c5fc7", "self": "#b3261e", "deco": "#8a6d00"}
        words = "|".join(keyword.kwlist)
        builtins = "|".join(("print", "range", "len", "int", "float", "list", "dict", "tuple",
                             "super", "isinstance", "min", "max", "sum", "enumerate", "zip",
                             "getattr", "setattr", "str", "bool", "abs", "round", "open"))
        self.rules = [
            (re.compile(rf"\b({words})\b"), _fmt(c["kw"], bold=True)),
            (re.compile(rf"\b({builtins})\b"), _fmt(c["builtin"])),
            (re.compile(r"\b(self|cls)\b"), _fmt(c["self"])),
            (re.compile(r"\b[0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)?\b"), _fmt(c["num"])),
            (re.compile(r"@[A-Za-z_][A-Za-z0-9_.]*"), _fmt(c["deco"])),
            (re.compile(r"(?<=\bdef )[A-Za-z_][A-Za-z0-9_]*|(?<=\bclass )[A-Za-z_][A-Za-z0-9_]*"),
             _fmt(c["def"], bold=True)),
        ]
        self.string = _fmt(c["str"])
        self.comment = _fmt(c["comment"], italic=True)
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        for rx, f in self.rules:
            for m in rx.finditer(text):
                self.setFormat(m.start(), m.end() - m.start(), f)
        # strings and comments last, so they win; triple quotes carry across lines
        self.setCurrentBlockState(0)
        i = 0
        in_triple = self.previousBlockState() == 1
        if in_triple:
            end = text.find('"""')
            if end < 0:
                self.setFormat(0, len(text), self.string)
                self.setCurrentBlockState(1)
                return
            self.setFormat(0, end + 3, self.string)
            i = end + 3
        while i < len(text):
            ch = text[i]
            if ch == "#":
                self.setFormat(i, len(text) - i, self.comment)
                return
            if text.startswith('"""', i) or text.startswith("'''", i):
                quote = text[i:i + 3]
                end = text.find(quote, i + 3)
                if end < 0:
                    self.setFormat(i, len(text) - i, self.string)
                    self.setCurrentBlockState(1)
                    return
                self.setFormat(i, end + 3 - i, self.string)
                i = end + 3
                continue
            if ch in "\"'":
                j = i + 1
                while j < len(text) and text[j] != ch:
                    j += 2 if text[j] == "\\" else 1
                self.setFormat(i, j + 1 - i, self.string)
                i = j + 1
                continue
            i += 1


class CodeView(QWidget):
    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.editors: dict[str, QPlainTextEdit] = {}
        self.highlighters = []
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(9.0)
        for name in FILES:
            ed = QPlainTextEdit()
            ed.setReadOnly(True)
            ed.setFont(mono)
            ed.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
            ed.setObjectName(name)
            ed.setToolTip(f"{name}: generated from the graph as you edit (read-only). "
                          "Export writes exactly this file.")
            ed.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse |
                                       Qt.TextInteractionFlag.TextSelectableByKeyboard)
            self.highlighters.append(PythonHighlighter(ed.document()))
            self.editors[name] = ed
            self.tabs.addTab(ed, name)
            self.tabs.setTabToolTip(self.tabs.count() - 1, f"The generated {name}")
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.setTextFormat(Qt.TextFormat.RichText)
        self.notice.setContentsMargins(8, 4, 8, 4)
        self.notice.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.notice)
        layout.addWidget(self.tabs)
        self.highlighted: dict[str, list[int]] = {}
        self._banner = ""
        session.code_ready.connect(self.show_code)
        session.analyzed.connect(self.show_verdict)
        session.selection_changed.connect(self.highlight_selection)

    def apply_theme(self) -> None:
        for h in self.highlighters:
            h.set_theme(theme.current().dark)
        self.highlight_selection()

    def show_verdict(self) -> None:
        """The banner: the verdict's errors when no code can be written, else nothing."""
        verdict = self.session.verdict
        if verdict.code_status is None:
            self.notice.hide()
            self._banner = ""
            return
        errors = verdict.errors
        self._banner = "\n".join([verdict.code_status] + [str(p) for p in errors])
        items = "".join(f"<li>{_html(str(p))}</li>" for p in errors[:6])
        more = f"<li>\u2026 and {len(errors) - 6} more in Problems</li>" if len(errors) > 6 else ""
        color = theme.current().error.name()
        self.notice.setText(f"<span style='color:{color}'>{_html(verdict.code_status)}</span>"
                            f"<ul style='margin:2px'>{items}{more}</ul>")
        self.notice.show()

    def banner(self) -> str:
        """The banner's text, plain ('' when hidden)."""
        return self._banner if not self.notice.isHidden() else ""

    def show_code(self) -> None:
        code = self.session.code
        self.show_verdict()
        if code is None:
            return
        for name, text in (("model.py", code.model_source), ("train.py", code.train_source)):
            ed = self.editors[name]
            if ed.toPlainText() != text:
                bar = ed.verticalScrollBar().value()
                ed.setPlainText(text)
                ed.verticalScrollBar().setValue(bar)
        self.highlight_selection()

    def highlight_selection(self) -> None:
        code = self.session.code
        key, ids = self.session.selection
        self.highlighted = {}
        if code is not None:
            for node_id in ids:
                for f, lines in code.node_lines(key, node_id).items():
                    self.highlighted.setdefault(f, []).extend(lines)
        t = theme.current()
        color = QColor(t.selected)
        color.setAlpha(60 if t.dark else 40)
        first_tab = None
        for name, ed in self.editors.items():
            lines = sorted(set(self.highlighted.get(name, [])))
            selections = []
            doc = ed.document()
            for line in lines:
                block = doc.findBlockByLineNumber(line - 1)
                if not block.isValid():
                    continue
                sel = QTextEdit.ExtraSelection()
                sel.format.setBackground(color)
                sel.format.setProperty(QTextCharFormat.Property.FullWidthSelection, True)
                sel.cursor = QTextCursor(block)
                selections.append(sel)
            ed.setExtraSelections(selections)
            if lines:
                block = doc.findBlockByLineNumber(lines[0] - 1)
                cursor = QTextCursor(block)
                ed.setTextCursor(cursor)
                ed.centerCursor()
                if first_tab is None:
                    first_tab = name
        if first_tab is not None and not self.highlighted.get(self.current_file()):
            self.tabs.setCurrentWidget(self.editors[first_tab])

    def current_file(self) -> str:
        return self.tabs.tabText(self.tabs.currentIndex())

    def text(self, name: str = "model.py") -> str:
        return self.editors[name].toPlainText()


def _html(text) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

"""What every page of the inspector is made of: a column of rows under a heading, fields under
their human labels with the reason a value was refused below them, and the wording of that
reason. A page is the scroll area's whole content, rebuilt when the selection changes.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QVBoxLayout, QWidget

from studio.ui import theme
from studio.ui.param_widgets import ParamEditor

LOCK_MARK = "(locked)"  # after the label: every font has it, unlike a padlock sign
LOCKED_TIP = " (locked by the assignment: it cannot change)"


def html(text) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def field_label(name, help) -> QLabel:
    label = QLabel(name)
    label.setToolTip(help)
    return label


def dim_label(text: str) -> QLabel:
    """A wrapped line in the theme's dimmed colour (hints, explanations)."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {theme.current().text_dim.name()}")
    return label


class InspectorPage(QWidget):
    """One content of the inspector: ``editors`` by name (a node's parameters, ``args.NAME``,
    ``settings.NAME``) and the ``form`` that holds their rows, if any."""

    def __init__(self, session, editor):
        super().__init__()
        self.session, self.editor = session, editor
        self.editors: dict[str, ParamEditor] = {}
        self.form: QFormLayout | None = None
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(10, 8, 10, 10)
        self.column.setSpacing(8)

    def follow(self, change) -> None:
        """Show an edit that did not change the graph's structure; pages that show nothing an
        edit can change keep what they show."""

    def follow_analysis(self) -> None:
        """Show a new analysis; pages that show none of it keep what they show."""

    def leave(self) -> None:
        """The page is being replaced by another; pages that hold nothing unapplied have
        nothing to do."""

    def heading(self, title: str, sub: str) -> None:
        label = QLabel(f"<span style='font-size:12pt; font-weight:600'>{html(title)}</span>"
                       f"&nbsp;&nbsp;<span style='color:{theme.current().text_dim.name()}'>"
                       f"{html(sub)}</span>")
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setWordWrap(True)
        self.column.addWidget(label)

    def add_row(self, form: QFormLayout, prm, ed: ParamEditor, locked: bool = False) -> None:
        """The field under its human label, and below it the reason its value is refused; a
        field the assignment locks says so after its label (and is disabled)."""
        label = field_label(f"{prm.title} {LOCK_MARK}" if locked else prm.title,
                            f"{prm.name}: {prm.help}" + (LOCKED_TIP if locked else ""))
        label.setObjectName(f"label_{prm.name}")
        form.addRow(label, ed.widget)
        form.addRow(ed.message_label())

    def reporting_refusal(self, name: str, edit_name: str, apply):
        """An editor's callback: ``apply(value)`` (an edit that says whether it was done), then
        the reason for a refusal, in words, under the field ``editors[edit_name]``."""
        def edit(value):
            refused = []
            self.session.message.connect(refused.append)
            try:
                ok = apply(value)
            finally:
                self.session.message.disconnect(refused.append)
            ed = self.editors.get(edit_name)
            if ed is not None:
                ed.show_error("" if ok else _reason(refused, name))
        return edit


def _reason(messages: list, name: str) -> str:
    """Why an edit was refused, in words, from the session's message ('Not done: ...')."""
    text = messages[-1].removeprefix("Not done: ") if messages else "the value was refused"
    _, sep, rest = text.partition(f"{name}: ")
    text = rest if sep else text
    return text[:1].upper() + text[1:]

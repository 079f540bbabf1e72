"""One editor widget per parameter kind, built from the block declaration.

Whole numbers get spin boxes with the declared range, choices a combo box, true/false a check
box; numbers, tuples and lists a line edit that parses what is typed ("5", "1, 5", "1x5",
"same", "none") and checks it with the kind itself, so the form accepts exactly what a file may
hold. Each edit calls ``on_edit(value)``; leaving the field calls ``on_done()`` (the end of a
typing burst: one undo step). A refused value keeps its text, outlined, and the reason in words
goes to ``message_label()``, which a form places under the field.
"""

from __future__ import annotations

import re

from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QLineEdit, QSpinBox

from studio.core.params import (
    Arg,
    Bool,
    Choice,
    Float,
    FloatList,
    FloatTuple,
    Int,
    IntList,
    IntTuple,
    Name,
    NameList,
    Optional,
    Padding,
    ParamError,
)
from studio.ui import theme

INT32 = 2**31 - 1
_SPLIT = re.compile(r"[,\s\u00d7x]+")


def format_value(v) -> str:
    if isinstance(v, Arg):
        return f"={v.name}"
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (tuple, list)):
        return ", ".join(format_value(x) for x in v)
    return str(v)


def parse_value(kind, text: str, args=()):
    """Text typed into a field -> a validated value of ``kind`` (ParamError says what is wrong).
    Inside a network, ``=name`` refers to one of its arguments (``args``)."""
    text = text.strip()
    if text.startswith("=") and args is not None:
        name = text[1:].strip()
        if name not in args:
            known = ", ".join(args) or "none"
            raise ParamError(f"no argument {name!r} in this network (arguments: {known})")
        return Arg(name)
    if isinstance(kind, Optional):
        if text.lower() in ("", "none"):
            return None
        return parse_value(kind.inner, text, args)
    if isinstance(kind, Padding) and text.lower() in ("same", "valid"):
        return kind.validate(text.lower())
    if isinstance(kind, (Int, Float)):
        return kind.validate(_number(text, int if isinstance(kind, Int) else float))
    if isinstance(kind, (IntTuple, Padding)):
        parts = _parts(text)
        values = [_number(p, int) for p in parts]
        return kind.validate(values[0] if len(values) == 1 else tuple(values))
    if isinstance(kind, IntList):
        return kind.validate([_number(p, int) for p in _parts(text)])
    if isinstance(kind, (FloatList, FloatTuple)):
        return kind.validate([_number(p, float) for p in _parts(text)] if text else [])
    if isinstance(kind, NameList):
        return kind.validate([p.strip() for p in text.split(",") if p.strip()])
    if isinstance(kind, Name):
        return kind.validate(text)
    if isinstance(kind, Bool):
        if text.lower() in ("true", "yes", "1", "on"):
            return True
        if text.lower() in ("false", "no", "0", "off"):
            return False
        raise ParamError(f"expected true or false, got {text!r}")
    return kind.validate(text)


def _parts(text: str) -> list[str]:
    parts = [p for p in _SPLIT.split(text.strip("()[] ")) if p]
    if not parts:
        raise ParamError("expected a value")
    return parts


def _number(text: str, cast):
    try:
        value = float(text)
    except ValueError:
        raise ParamError(f"expected a number, got {text!r}") from None
    if cast is int:
        if not value.is_integer():
            raise ParamError(f"expected a whole number, got {text!r}")
        return int(value)
    return value


class ParamEditor:
    """A widget editing one value; ``set_value`` shows a value without reporting an edit."""

    def __init__(self, name: str, kind, value, help: str, on_edit, on_done, args=None):
        self.name, self.kind, self.help = name, kind, help
        self.on_edit, self.on_done = on_edit, on_done
        self.args = args  # names of the enclosing network's arguments (None: not in a network)
        self._message: QLabel | None = None
        self.widget = self._make(value)
        self.widget.setObjectName(f"param_{name}")
        self._tip = f"{name}: {help}\nAccepts {kind.describe()}"
        if args is not None:
            self._tip += "\nType =name to use one of the network's arguments"
        self.widget.setToolTip(self._tip)
        self.widget.setWhatsThis(self._tip)
        self.set_value(value)

    def _make(self, value):
        kind = self.kind
        if isinstance(kind, Bool):
            w = QCheckBox()
            w.toggled.connect(lambda on: self._emit(bool(on), done=True))
            return w
        if isinstance(kind, Choice):
            w = QComboBox()
            for option in kind.options:
                w.addItem(format_value(option), option)
            w.activated.connect(lambda i: self._emit(w.itemData(i), done=True))
            return w
        if isinstance(kind, Int) and not isinstance(value, Arg) and self.args is None:
            w = QSpinBox()
            lo = -INT32 if kind.min is None else max(kind.min, -INT32)
            hi = INT32 if kind.max is None else min(kind.max, INT32)
            w.setRange(lo, hi)
            w.setAccelerated(True)
            w.setKeyboardTracking(True)
            w.valueChanged.connect(lambda v: self._emit(int(v)))
            w.editingFinished.connect(self.on_done)
            return w
        w = QLineEdit()
        if isinstance(kind, Optional):
            w.setPlaceholderText("none")
        w.textEdited.connect(self._typed)
        w.editingFinished.connect(self._finished)
        return w

    def _emit(self, value, done: bool = False) -> None:
        self.on_edit(value)
        if done:
            self.on_done()

    def _typed(self, text: str) -> None:
        try:
            value = parse_value(self.kind, text, self.args)
        except ParamError as err:
            self.show_error(str(err))
            return
        self.show_error("")
        self.on_edit(value)

    def _finished(self) -> None:
        self.on_done()

    def show_error(self, message: str) -> None:
        w = self.widget
        if message:
            w.setStyleSheet("QLineEdit { border: 1px solid #d93025; }")
            w.setToolTip(f"{message}\n\n{self._tip}")
        else:
            w.setStyleSheet("")
            w.setToolTip(self._tip)
        self.error = message
        self._show_message()

    def show_problem(self, message: str) -> None:
        """The analysis's problem with this field (a value that does not fit the others)."""
        self.problem = message
        self._show_message()

    def message_label(self) -> QLabel:
        """The reason the value is refused, in words, for the form to place under the field."""
        if self._message is None:
            self._message = QLabel()
            self._message.setObjectName(f"reason_{self.name}")
            self._message.setWordWrap(True)
            self._message.setStyleSheet(f"color: {theme.current().error.name()}")
            self._message.setVisible(False)
        return self._message

    def message(self) -> str:
        """What the message under the field says ('' when there is nothing to say)."""
        return self.error or self.problem

    def _show_message(self) -> None:
        label = self._message
        if label is None:
            return
        label.setText(self.message())
        if label.parentWidget() is not None:  # never a window of its own
            label.setVisible(bool(self.message()))

    error = ""  # why the text typed last was refused
    problem = ""  # the analysis's problem with the value

    def set_value(self, value) -> None:
        w = self.widget
        w.blockSignals(True)
        try:
            if isinstance(w, QCheckBox):
                w.setChecked(bool(value))
            elif isinstance(w, QComboBox):
                index = next((i for i in range(w.count()) if w.itemData(i) == value and
                              type(w.itemData(i)) is type(value)), -1)
                w.setCurrentIndex(index)
            elif isinstance(w, QSpinBox):
                if isinstance(value, int):
                    w.setValue(value)
            elif not w.hasFocus() or self.error:
                if not self.error:
                    w.setText(format_value(value))
        finally:
            w.blockSignals(False)

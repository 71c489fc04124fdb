"""A heatmap's colour bar: what the scale is (a caption), the colours, and three values.

Drawn with one QPainter pass: pyqtgraph's ColorBarItem is a whole plot (view box, axes) and cost
tens of milliseconds per heatmap to build, which a deep stack pays for at every new shape.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from rnnviz.ui.views.scales import LUT_SIZE

BAR_WIDTH = 14
CAPTION_LINES = 2


class ColourBar(pg.GraphicsWidget):
    """Caption on top, then a vertical bar (``high`` at the top) with its low, middle and high values."""

    def __init__(self, width: float) -> None:
        super().__init__()
        self.font = QFont()
        self.font.setPointSizeF(8)
        self.caption = ""
        self.low, self.high = -1.0, 1.0
        self.image = QImage()
        self.setMinimumSize(QSizeF(width, 80))
        self.setMaximumWidth(width)

    def show_scale(self, caption: str, lut: np.ndarray, low: float, high: float) -> None:
        """Show ``lut`` (LUT_SIZE colours of ``low … high``, then the NaN entry) under ``caption``."""
        self.caption, self.low, self.high = caption, low, high
        colours = np.ascontiguousarray(lut[LUT_SIZE - 1::-1, None, :])  # high on top, one pixel wide
        self.image = QImage(colours.data, 1, LUT_SIZE, 4, QImage.Format.Format_RGBA8888).copy()
        self.update()

    def paint(self, painter: QPainter, *args) -> None:
        painter.setFont(self.font)
        line = painter.fontMetrics().height()
        rect = self.rect()
        painter.setPen(QColor("#202020"))
        caption_rect = QRectF(rect.left() + 2, rect.top(), rect.width() - 2, line * CAPTION_LINES)
        painter.drawText(caption_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, self.caption)
        top = caption_rect.bottom() + line / 2
        bottom = rect.bottom() - line / 2
        if bottom - top < line:
            return
        bar = QRectF(rect.left() + 4, top, BAR_WIDTH, bottom - top)
        painter.drawImage(bar, self.image)
        painter.drawRect(bar)
        for value, y in ((self.high, top), ((self.low + self.high) / 2, (top + bottom) / 2), (self.low, bottom)):
            painter.drawLine(QRectF(bar.right(), y, 3, 0).topLeft(), QRectF(bar.right() + 3, y, 0, 0).topLeft())
            painter.drawText(QRectF(bar.right() + 6, y - line / 2, rect.width(), line),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, f"{value:g}")

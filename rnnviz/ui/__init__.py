"""The desktop app: the only package of rnnviz that imports PySide6 and pyqtgraph."""

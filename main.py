"""Run rnnviz from a checkout: ``python main.py`` opens the app, ``python main.py run …`` stays headless."""

import sys

from rnnviz.__main__ import main

if __name__ == "__main__":
    sys.exit(main())

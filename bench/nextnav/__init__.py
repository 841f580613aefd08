"""Next-navigation benchmark: page A, then a click to page B, with and without
Speculation Rules, in headless Chromium over the DevTools protocol (see ``run.py``)."""

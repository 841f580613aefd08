"""Page-load benchmark: headless Chromium through a latency relay, with and
without Flask-Firehose's Link header and 103 Early Hints (see ``run.py``)."""

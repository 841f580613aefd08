"""Tests of the LCP learner (``flask_firehose._lcp``): tokens, agreement, stores, the script tag, reports."""

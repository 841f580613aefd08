"""Tests of Speculation Rules (``flask_firehose._speculation``): rules, exclusions, patterns, delivery."""

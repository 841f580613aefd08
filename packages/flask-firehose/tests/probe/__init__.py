"""Tests of the probe client (``flask_firehose._probe``): transports, checks, report, install."""

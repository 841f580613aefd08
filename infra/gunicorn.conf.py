"""gunicorn settings for the demo, from the environment.

FIREHOSE_APP_BIND   where to listen (default 127.0.0.1:8000)
FIREHOSE_TLS_CERT   PEM certificate chain; with FIREHOSE_TLS_KEY, serve TLS with
FIREHOSE_TLS_KEY    HTTP/2 and HTTP/1.1 (ALPN), so 103 Early Hints reach browsers
FIREHOSE_WORKERS    worker processes (default 2)
FIREHOSE_ACCESS_LOG access log path, "-" for stdout (default: none)
"""

import os

bind = [os.environ.get("FIREHOSE_APP_BIND", "127.0.0.1:8000")]
workers = int(os.environ.get("FIREHOSE_WORKERS", "2"))
# gthread is the worker that speaks HTTP/2 and passes wsgi.early_hints on.
worker_class = "gthread"
threads = 4
graceful_timeout = 3
# One fixed control-socket path would clash between servers started side by side.
control_socket_disable = True
accesslog = os.environ.get("FIREHOSE_ACCESS_LOG") or None
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s'

if os.environ.get("FIREHOSE_TLS_CERT"):
    certfile = os.environ["FIREHOSE_TLS_CERT"]
    keyfile = os.environ["FIREHOSE_TLS_KEY"]
    http_protocols = "h2,h1"

"""What the end-to-end tests (e2e/) and the benchmarks (bench/, the demo's
tools) share: real servers on free loopback ports, the browsers that load
their pages, and the clients that see what crosses the wire.

=================  ==========================================================
Module             Concern
=================  ==========================================================
``processes``      starting a server in its own process group, waiting for its
                   port, stopping the group; free ports; finding programs
                   (:exc:`~harness.processes.MissingComponent` when absent)
``tls``            a test CA and certificate; the key hash Chromium trusts
``fronts``         Caddy (infra/caddy/Caddyfile, as ``make demo`` runs it),
                   nginx, Apache and h2o from infra/, their access logs
``demo``           the demo app under gunicorn (infra/run-app.sh): alone over
                   TLS + HTTP/2, behind nginx pushing, behind a front
``compose``        the compose stack as the tests container reaches it
``relay``          the user-space latency relay (RTT, bandwidth cap)
``forward``        a plain TCP forwarder on loopback (relay to a named host)
``chromium``       Chromium through Playwright, and the flags every Chromium gets
``cdp``            Chromium over the DevTools protocol (tab target: prerenders)
``firefox``        Firefox ESR over Marionette
``h2client``       an HTTP/2 client that records 103s, pushes and the response
=================  ==========================================================

Nothing here imports pytest: the e2e suite's conftest turns a
:exc:`~harness.processes.MissingComponent` into a skip, or a failure under
``CI``. Nothing here imports ``e2e``.
"""

"""Speculation Rules: the browser fetches or renders the next page before the click.

``rules`` (the rule model: one parameter list for ``speculate()``,
``@speculation`` and the JSON), ``patterns`` (URL patterns and what is never
speculated), ``urls`` (the script root as a URL path, the header field) and
``delivery`` (the view decorators, the rules resource, the
``Speculation-Rules`` header and inline rules in a request).

The modules are imported one by one (``rules`` and ``patterns`` are read by
the configuration, before the request side exists): this face hands on nothing.
"""

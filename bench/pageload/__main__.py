"""``python -m bench.pageload``: see run.py."""

from .run import main

raise SystemExit(main())

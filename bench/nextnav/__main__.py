"""``python -m bench.nextnav``: see run.py."""

from .run import main

raise SystemExit(main())

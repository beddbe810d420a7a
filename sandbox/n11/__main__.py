"""``python -m sandbox.n11`` — run the sandbox in the foreground."""

import sys

from .app import main

sys.exit(main())

"""``python -m sandbox.amazon`` — run the sandbox in the foreground."""

import sys

from .app import main

sys.exit(main())

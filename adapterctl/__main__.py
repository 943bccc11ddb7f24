import sys

from adapterctl.cli import main

sys.exit(main())

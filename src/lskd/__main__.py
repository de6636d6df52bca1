import sys

from lskd.cli import main

sys.exit(main())

import sys

from keras_tl.cli import main

# The guard matters: the demo's worker processes (spawn) import this
# module again as __mp_main__.
if __name__ == "__main__":
    sys.exit(main())

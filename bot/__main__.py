import os
import sys

from bot.cli import main

code = main()
if sys.argv[1:2] == ["ask"]:
    # Read-only and done: skip the interpreter's ~1.2 s of freeing torch, the tokenizer and Chroma at exit.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
sys.exit(code)

import os
import sys

from bot.cli import main

try:
    code = main()
    sys.stdout.flush()
except BrokenPipeError:  # the reader went away (`... | head`): as Python's docs advise, no traceback
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    code = 1
if sys.argv[1:2] == ["ask"]:
    # Read-only and done: skip the interpreter's ~1 s of freeing torch, the tokenizer and Chroma at exit.
    sys.stderr.flush()
    os._exit(code)
sys.exit(code)

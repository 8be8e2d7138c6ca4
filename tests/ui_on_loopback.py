"""``python tests/ui_on_loopback.py``: ui.py as configured by the environment (e.g. BOT_HOST=192.0.2.10, an address
of no machine), but bound to 127.0.0.1: to test what the chat does when configured for another address without
listening anywhere but loopback."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ui

if __name__ == "__main__":
    ui.serve(ui.get_settings(), bind="127.0.0.1")

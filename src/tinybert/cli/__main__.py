"""``python -m tinybert.cli`` (e.g. under ``accelerate launch``)."""

from tinybert.cli import main

main()

"""`python -m bot` runs the `huifang` command."""

from bot.cli import main

main()

"""`python -m bot` runs the `huifang` command (the same as the `huifang` entry point, `bot.cli:main`)."""

from bot.cli import main

main()

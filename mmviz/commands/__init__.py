"""One module per ``mmviz`` subcommand (see mmviz/cli.py)."""

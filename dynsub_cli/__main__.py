from dynsub_cli.cli import main

main()

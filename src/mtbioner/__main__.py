from mtbioner.cli import main

main()

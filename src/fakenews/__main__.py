from fakenews.cli import main

main()

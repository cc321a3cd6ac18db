from vpp.cli import main

main()

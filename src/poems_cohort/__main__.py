from poems_cohort.cli import main

main()

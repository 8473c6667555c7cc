from cchc_excel.cli import main

main()

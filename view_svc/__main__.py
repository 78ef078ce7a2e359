from view_svc.main import main

main()

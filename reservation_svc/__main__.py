from reservation_svc.main import main

main()

from room_svc.main import main

main()

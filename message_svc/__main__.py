from message_svc.main import main

main()

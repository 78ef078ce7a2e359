from payment_svc.main import main

main()

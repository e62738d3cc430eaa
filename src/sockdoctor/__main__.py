from sockdoctor.cli import main

raise SystemExit(main())

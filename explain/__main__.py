from explain.cli import main

raise SystemExit(main())

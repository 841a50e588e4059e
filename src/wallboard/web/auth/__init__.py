"""HTTP routes of identity: login, sessions, API tokens and keys, users, kiosk links, audit."""

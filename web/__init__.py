"""Flask front end: consoles, consumer scan page, explorer (not built yet)."""

"""Dashboard pages: one module per page (form → reporting selector → figures → template)."""

"""The site's pages, one module per page (form → reporting selector or service → figures → template);
who may see and do what is in ``frontend/access.py``."""

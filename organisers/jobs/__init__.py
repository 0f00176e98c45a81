"""Long work off the request (SPEC §6): a big team import and the results workbook run as jobs on
Django's Tasks framework (django-tasks, database backend). `services` starts them (one of a kind
at a time) and tells how far they are; `tasks` is what the worker runs; `api` shows them."""

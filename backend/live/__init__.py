"""What the server does on its own, beside the requests: the change hub that feeds streams and
the listing cache, the sweeper, calendar feeds, webhooks, and the guard on every connection it
makes out."""
